/* header_test.c: the C API (autorec/autorec.h) from a C99 host. For every function the header declares: a
 * success case and each failure status its comment documents that a test can provoke. A failed call must
 * leave its outputs untouched (they are filled with a sentinel first: "on failure no output is written unless
 * a function says otherwise"), and its message must name the function, be one line and a few hundred bytes
 * at most; after a successful call autorec_last_error() is "".
 *
 * Usage: header_test MODEL_DIR, the committed models of tests/fuzz/corpus/model (item.fb item-based, user.fb
 * user-based, offset.fb trained with an input offset, plain.fb without a baseline, deep.fb, fp16.fb,
 * int8.fb, scaled.fb; all 12 users x 9 items with integer ids). Exit status 0 when every check passed. */
#define _POSIX_C_SOURCE 200809L

#include "autorec/autorec.h"

#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Checks ---- */

static int g_checks = 0;
static int g_failed = 0;
static int g_status = AUTOREC_OK;   /* status of the last EXPECT, for CHECK's report */
static char g_error[1024] = "";      /* autorec_last_error() right after it */
static char g_context[256] = "";     /* what the test is doing, for reports */

/* A message is "one line of a few hundred bytes at most". */
#define MAX_MESSAGE 600

static void context(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(g_context, sizeof g_context, format, args);
  va_end(args);
}

static void save_error(void) {
  const char* e = autorec_last_error();
  size_t n;
  if (!e) {
    strcpy(g_error, "(NULL)");
    return;
  }
  n = strlen(e);
  if (n >= sizeof g_error) n = sizeof g_error - 1;
  memcpy(g_error, e, n);
  g_error[n] = '\0';
}

static int check_at(const char* file, int line, int ok, const char* expr) {
  ++g_checks;
  if (ok) return 1;
  ++g_failed;
  fprintf(stderr, "%s:%d: FAILED [%s]: CHECK(%s)\n    last status %d (%s); autorec_last_error(): \"%s\"\n", file, line,
          g_context, expr, g_status, autorec_status_name(g_status), g_error);
  return 0;
}
#define CHECK(cond) check_at(__FILE__, __LINE__, (cond) != 0, #cond)

/* Whether message begins with "NAME:" where NAME is the autorec_* identifier call begins with (calls written
 * otherwise are not checked for it). */
static int names_function(const char* message, const char* call) {
  size_t n = 0;
  if (strncmp(call, "autorec_", 8) != 0) return 1;
  while (call[n] == '_' || isalnum((unsigned char)call[n])) ++n;
  return strncmp(message, call, n) == 0 && message[n] == ':';
}

static int expect_at(const char* file, int line, autorec_status want, autorec_status got, const char* call) {
  const char* e = autorec_last_error();
  const char* why = NULL;
  ++g_checks;
  g_status = got;
  save_error();
  if (!e)
    why = "autorec_last_error() is NULL";
  else if (got != want)
    why = "wrong status";
  else if (want == AUTOREC_OK && e[0] != '\0')
    why = "autorec_last_error() is not \"\" after a successful call";
  else if (want != AUTOREC_OK && e[0] == '\0')
    why = "a failed call left no message";
  else if (want != AUTOREC_OK && strlen(e) >= MAX_MESSAGE)
    why = "the message is longer than a few hundred bytes";
  else if (want != AUTOREC_OK && (strchr(e, '\n') || strchr(e, '\r')))
    why = "the message is not one line";
  else if (want != AUTOREC_OK && !names_function(e, call))
    why = "the message does not begin with the function's name";
  if (!why) return 1;
  ++g_failed;
  fprintf(stderr, "%s:%d: FAILED [%s]: %s\n    %s: expected %d (%s), got %d (%s)\n    autorec_last_error(): \"%s\"\n",
          file, line, g_context, call, why, (int)want, autorec_status_name(want), (int)got, autorec_status_name(got),
          g_error);
  return 0;
}
#define EXPECT(want, call) expect_at(__FILE__, __LINE__, (want), (call), #call)

/* The same for a call made through a macro that picks one of two functions: name says which. */
static int expect_named(const char* file, int line, autorec_status want, autorec_status got, const char* name,
                        const char* call) {
  char what[600];
  snprintf(what, sizeof what, "%s: %s", name, call);
  return expect_at(file, line, want, got, what);
}
#define EXPECT_NAMED(name, want, call) expect_named(__FILE__, __LINE__, (want), (call), (name), #call)

#define OK AUTOREC_OK
#define BAD AUTOREC_BAD_INPUT

/* ---- Sentinels and helpers ---- */

#define SF (-12345.0f)
#define SU 0xDEADBEEFu
#define SZ ((size_t)0xDEADu)
#define SS ((autorec_source)77)
#define SA ((autorec_activation)77)
#define SV ((autorec_variant)77)
#define BIG 64 /* every model of the corpus has fewer rows, columns, users and items */

static char g_not_a_model_object;
#define NOT_A_MODEL ((autorec_model*)(void*)&g_not_a_model_object)

static const char* g_dir;

static void fill_f(float* a, size_t n, float v) {
  size_t i;
  for (i = 0; i < n; ++i) a[i] = v;
}
static int all_f(const float* a, size_t n, float v) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (a[i] != v) return 0;
  return 1;
}
static int all_u32(const uint32_t* a, size_t n, uint32_t v) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (a[i] != v) return 0;
  return 1;
}
static int all_src(const autorec_source* a, size_t n, autorec_source v) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (a[i] != v) return 0;
  return 1;
}
static int all_finite(const float* a, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (!isfinite(a[i])) return 0;
  return 1;
}
static int in_range(const float* a, size_t n, float lo, float hi) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (!(a[i] >= lo && a[i] <= hi)) return 0;
  return 1;
}
static int same_f(const float* a, const float* b, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (a[i] != b[i]) return 0;
  return 1;
}
static int close_f(const float* a, const float* b, size_t n, double tolerance) {
  size_t i;
  for (i = 0; i < n; ++i) {
    const double d = (double)a[i] - (double)b[i];
    if (!(d <= tolerance && -d <= tolerance)) return 0;
  }
  return 1;
}
static int near(double a, double b, double tolerance) { return a - b <= tolerance && b - a <= tolerance; }

static int valid_source(autorec_source s) { return (int)s >= AUTOREC_SOURCE_MODEL && (int)s <= AUTOREC_SOURCE_EMPTY_INPUT; }

/* "1", "-7", "0": decimal without sign (but minus) or leading zeros. */
static int is_canonical_int(const char* s) {
  const char* p = s;
  if (*p == '-') ++p;
  if (!isdigit((unsigned char)*p)) return 0;
  if (*p == '0' && (p[1] != '\0' || p != s)) return 0;
  while (isdigit((unsigned char)*p)) ++p;
  return *p == '\0';
}

static void path_of(char* buffer, size_t size, const char* file) { snprintf(buffer, size, "%s/%s", g_dir, file); }

static void cpu_options(autorec_load_options* o) {
  autorec_load_options_init(o);
  o->device = AUTOREC_DEVICE_CPU;
}

static autorec_model* load_cpu(const char* file) {
  char path[4096];
  autorec_load_options o;
  autorec_model* m = NULL;
  path_of(path, sizeof path, file);
  cpu_options(&o);
  if (!EXPECT(OK, autorec_model_load_file(path, &o, &m)) || !m) {
    fprintf(stderr, "header_test: cannot load %s; stopping after %d checks (%d failed)\n", path, g_checks, g_failed);
    exit(1);
  }
  return m;
}

static unsigned char* read_bytes(const char* file, size_t* size) {
  char path[4096];
  FILE* f;
  unsigned char* data = NULL;
  size_t used = 0, capacity = 0, n;
  path_of(path, sizeof path, file);
  f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "header_test: cannot open %s\n", path);
    exit(1);
  }
  for (;;) {
    if (used == capacity) {
      unsigned char* grown;
      capacity = capacity ? 2 * capacity : 4096;
      grown = (unsigned char*)realloc(data, capacity);
      if (!grown) exit(1);
      data = grown;
    }
    n = fread(data + used, 1, capacity - used, f);
    if (n == 0) break;
    used += n;
  }
  fclose(f);
  *size = used;
  return data;
}

static int write_bytes(const char* path, const unsigned char* data, size_t size) {
  FILE* f = fopen(path, "wb");
  int ok;
  if (!f) return 0;
  ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

static void put_u32(unsigned char* p, uint32_t v) {
  int i;
  for (i = 0; i < 4; ++i) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char* p, uint64_t v) {
  int i;
  for (i = 0; i < 8; ++i) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_u64(const unsigned char* p) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; ++i) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* One uint32_t of metadata, expected to succeed (SU when it does not). */
#define COUNT_GETTER(name, function)          \
  static uint32_t name(const autorec_model* m) { \
    uint32_t v = SU;                            \
    EXPECT(OK, function(m, &v));                \
    return v;                                   \
  }
COUNT_GETTER(users_of, autorec_model_num_users)
COUNT_GETTER(items_of, autorec_model_num_items)
COUNT_GETTER(columns_of, autorec_model_num_columns)
COUNT_GETTER(length_of, autorec_model_column_length)
static void range_of(const autorec_model* m, float* lo, float* hi) {
  EXPECT(OK, autorec_model_rating_range(m, lo, hi));
}
static int counts_are(const autorec_model* m, uint32_t users, uint32_t items, uint32_t columns, uint32_t length) {
  return users_of(m) == users && items_of(m) == items && columns_of(m) == columns && length_of(m) == length;
}

/* A 1 MB caller text, to check that messages quote at most a few hundred bytes of it. */
static char* big_text(char c) {
  const size_t n = (size_t)1 << 20;
  char* s = (char*)malloc(n + 1);
  if (!s) exit(1);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}
/* The longest run of c in s. */
static size_t longest_run(const char* s, char c) {
  size_t best = 0, run = 0;
  for (; *s; ++s) {
    run = *s == c ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/* ---- Library ---- */

/* A name function of an enum: a name for every value in [first, last], "unknown" for any other number
 * (257 is not narrowed to 8 bits). */
static void check_enum_names(const char* (*name_of)(int), int first, int last) {
  const int others[] = {first - 1, last + 1, 256, 257, INT32_MIN, INT32_MAX};
  size_t k;
  int v;
  for (v = first; v <= last; ++v) {
    const char* name = name_of(v);
    CHECK(name != NULL && name[0] != '\0' && strcmp(name, "unknown") != 0);
  }
  for (k = 0; k < sizeof others / sizeof others[0]; ++k) CHECK(strcmp(name_of(others[k]), "unknown") == 0);
}

static void test_library(void) {
  const char* level;
  const char* notice;
  int s;
  context("library");
  CHECK(autorec_last_error() != NULL && autorec_last_error()[0] == '\0');
  CHECK(autorec_api_version() == AUTOREC_API_VERSION);
  CHECK(AUTOREC_API_VERSION == AUTOREC_API_VERSION_MAJOR * 10000 + AUTOREC_API_VERSION_MINOR * 100 + AUTOREC_API_VERSION_PATCH);
  CHECK(sizeof(autorec_load_options) == 24);
  CHECK(sizeof(autorec_entry) == 8);
  CHECK(AUTOREC_NO_INDEX == UINT32_MAX);
  CHECK(AUTOREC_OK == 0 && AUTOREC_BAD_INPUT == -1 && AUTOREC_CORRUPT == -2 && AUTOREC_UNSUPPORTED == -3 &&
        AUTOREC_IO == -4 && AUTOREC_OUT_OF_MEMORY == -5 && AUTOREC_INTERNAL == -6);

  level = autorec_cpu_level();
  CHECK(level != NULL);
  if (level)
    CHECK(strcmp(level, "baseline") == 0 || strcmp(level, "avx2") == 0 || strcmp(level, "avx512") == 0 ||
          strcmp(level, "native") == 0);
  notice = autorec_cpu_level_notice();
  CHECK(notice != NULL);
  if (notice && !getenv("AUTOREC_CPU")) CHECK(notice[0] == '\0');

  context("name functions");
  CHECK(strcmp(autorec_status_name(AUTOREC_OK), "ok") == 0);
  CHECK(strcmp(autorec_status_name(AUTOREC_BAD_INPUT), "bad input") == 0);
  for (s = AUTOREC_INTERNAL; s <= AUTOREC_OK; ++s) {
    const char* name = autorec_status_name(s);
    CHECK(name != NULL && name[0] != '\0' && strcmp(name, "unknown status") != 0);
    if (s < AUTOREC_OK && name) CHECK(strcmp(name, autorec_status_name(s + 1)) != 0);
  }
  CHECK(strcmp(autorec_status_name(1), "unknown status") == 0);
  CHECK(strcmp(autorec_status_name(-7), "unknown status") == 0);
  CHECK(strcmp(autorec_status_name(255), "unknown status") == 0);
  CHECK(strcmp(autorec_status_name(INT32_MAX), "unknown status") == 0);
  CHECK(strcmp(autorec_status_name(INT32_MIN), "unknown status") == 0);

  CHECK(strcmp(autorec_activation_name(AUTOREC_SIGMOID), "sigmoid") == 0);
  CHECK(strcmp(autorec_activation_name(AUTOREC_IDENTITY), "identity") == 0);
  check_enum_names(autorec_activation_name, AUTOREC_IDENTITY, AUTOREC_SELU);
  CHECK(strcmp(autorec_source_name(AUTOREC_SOURCE_USER_MEAN), "user mean") == 0);
  check_enum_names(autorec_source_name, AUTOREC_SOURCE_MODEL, AUTOREC_SOURCE_EMPTY_INPUT);

  autorec_model_free(NULL); /* ignored */
}

/* ---- Loading ---- */

/* One load, checked: the status, *model (a handle on success, NULL on failure), and optionally that the
 * message contains needle. */
/* What every load case checks once the call returned `got`: the status, *model (a handle after a success,
 * NULL after a failure), and that the message contains `needle` (when not NULL). Frees the model. */
static void check_load(const char* file, int line, autorec_status want, autorec_status got, autorec_model* m,
                       const char* what, const char* needle) {
  expect_at(file, line, want, got, what);
  if (want == OK)
    check_at(file, line, m != NULL && m != NOT_A_MODEL, "*model is a handle after a successful load");
  else
    check_at(file, line, m == NULL, "*model is NULL after a failed load");
  if (needle) {
    char expr[300];
    snprintf(expr, sizeof expr, "the message contains \"%.200s\"", needle);
    check_at(file, line, strstr(g_error, needle) != NULL, expr);
  }
  if (got == OK && m && m != NOT_A_MODEL) autorec_model_free(m);
}

static void load_file_case(const char* file, int line, autorec_status want, const char* path,
                           const autorec_load_options* o, const char* needle) {
  char what[600];
  autorec_model* m = NOT_A_MODEL;
  const autorec_status got = autorec_model_load_file(path, o, &m);
  snprintf(what, sizeof what, "autorec_model_load_file(\"%.300s\", ...)", path ? path : "(NULL)");
  check_load(file, line, want, got, m, what, needle);
}
#define LOAD_FILE(want, path, options, needle) load_file_case(__FILE__, __LINE__, (want), (path), (options), (needle))

static void load_buffer_case(const char* file, int line, autorec_status want, const void* data, size_t size,
                             const char* name, const autorec_load_options* o, const char* needle) {
  autorec_model* m = NOT_A_MODEL;
  const autorec_status got = autorec_model_load_buffer(data, size, name, o, &m);
  check_load(file, line, want, got, m, "autorec_model_load_buffer(...)", needle);
}
#define LOAD_BUFFER(want, data, size, name, options, needle) \
  load_buffer_case(__FILE__, __LINE__, (want), (data), (size), (name), (options), (needle))

static void test_options(void) {
  autorec_load_options o;
  struct {
    autorec_load_options base;
    unsigned char later[8]; /* fields a newer header would append */
  } newer;
  char path[4096];
  autorec_model* m = NULL;
  const char* backend = NULL;

  context("autorec_load_options_init");
  memset(&o, 0xAB, sizeof o);
  autorec_load_options_init(&o);
  CHECK(o.struct_size == sizeof(autorec_load_options));
  CHECK(o.device == AUTOREC_DEVICE_AUTO);
  CHECK(o.threads == 0);
  CHECK(o.max_decompressed_bytes == 0 || o.max_decompressed_bytes == ((uint64_t)8 << 30));
  autorec_load_options_init(NULL); /* ignored */

  path_of(path, sizeof path, "item.fb");
  context("load options");
  LOAD_FILE(OK, path, NULL, NULL);
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o; /* all zero fields are the defaults */
  LOAD_FILE(OK, path, &o, NULL);
  o.struct_size = 0;
  LOAD_FILE(BAD, path, &o, "struct_size");
  o.struct_size = 8;
  LOAD_FILE(BAD, path, &o, NULL);
  o.struct_size = 23;
  LOAD_FILE(BAD, path, &o, NULL);

  memset(&newer, 0, sizeof newer);
  autorec_load_options_init(&newer.base);
  newer.base.struct_size = sizeof newer;
  LOAD_FILE(OK, path, &newer.base, NULL); /* unknown fields that are zero are fine */
  newer.later[5] = 1;
  LOAD_FILE(AUTOREC_UNSUPPORTED, path, &newer.base, "29");
  newer.later[5] = 0;
  newer.later[0] = 0x80;
  LOAD_FILE(AUTOREC_UNSUPPORTED, path, &newer.base, NULL);

  autorec_load_options_init(&o);
  o.device = 7;
  LOAD_FILE(BAD, path, &o, "7");
  o.device = -1;
  LOAD_FILE(BAD, path, &o, NULL);
  o.device = AUTOREC_DEVICE_CPU;
  o.threads = 1;
  m = NOT_A_MODEL;
  if (EXPECT(OK, autorec_model_load_file(path, &o, &m))) {
    EXPECT(OK, autorec_model_backend(m, &backend));
    CHECK(backend && strcmp(backend, "cpu") == 0);
    autorec_model_free(m);
  }
  /* AUTO: CUDA when the plugin and a GPU are there, else the CPU. */
  autorec_load_options_init(&o);
  m = NOT_A_MODEL;
  backend = NULL;
  if (EXPECT(OK, autorec_model_load_file(path, &o, &m))) {
    EXPECT(OK, autorec_model_backend(m, &backend));
    CHECK(backend && (strcmp(backend, "cpu") == 0 || strcmp(backend, "cuda") == 0));
    autorec_model_free(m);
  }

  context("max_decompressed_bytes");
  cpu_options(&o);
  o.max_decompressed_bytes = 16;
  LOAD_FILE(AUTOREC_OUT_OF_MEMORY, path, &o, NULL);
}

static void test_fifo(const char* tmp) {
  char fifo[4096];
  size_t size;
  unsigned char* bytes = read_bytes("item.fb", &size);
  autorec_load_options o;
  autorec_model* m = NOT_A_MODEL;
  pid_t pid;
  int status = 0;

  context("autorec_model_load_file from a FIFO");
  snprintf(fifo, sizeof fifo, "%s/model.fifo", tmp);
  if (!CHECK(mkfifo(fifo, 0600) == 0)) {
    free(bytes);
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid == 0) { /* the writer: only async-signal-safe calls */
    size_t done = 0;
    const int fd = open(fifo, O_WRONLY);
    if (fd >= 0) {
      while (done < size) {
        const ssize_t n = write(fd, bytes + done, size - done);
        if (n <= 0) break;
        done += (size_t)n;
      }
      close(fd);
    }
    _exit(done == size ? 0 : 1);
  }
  if (CHECK(pid > 0)) {
    cpu_options(&o);
    EXPECT(OK, autorec_model_load_file(fifo, &o, &m));
    if (m == NULL || m == NOT_A_MODEL) kill(pid, SIGKILL); /* never opened: the writer waits for a reader */
    CHECK(waitpid(pid, &status, 0) == pid);
    if (m && m != NOT_A_MODEL) {
      /* (the writer's exit status is not checked: under valgrind --error-exitcode it is valgrind's) */
      CHECK(WIFEXITED(status));
      CHECK(users_of(m) == 12); /* the whole file came through: a cut one is CORRUPT */
      autorec_model_free(m);
    }
  }
  unlink(fifo);
  free(bytes);
}

static void test_load_file(const char* tmp) {
  static const char* const files[] = {"item.fb", "user.fb",  "offset.fb", "plain.fb",
                                      "deep.fb", "fp16.fb",  "int8.fb",   "scaled.fb"};
  char path[2048], other[4096], needle[4200];
  autorec_load_options o;
  unsigned char* bytes;
  unsigned char* bad;
  size_t size, i;

  cpu_options(&o);
  path_of(path, sizeof path, "item.fb");
  context("autorec_model_load_file");
  for (i = 0; i < sizeof files / sizeof files[0]; ++i) {
    path_of(other, sizeof other, files[i]);
    LOAD_FILE(OK, other, &o, NULL);
  }
  EXPECT(BAD, autorec_model_load_file(path, &o, NULL));
  LOAD_FILE(BAD, NULL, &o, NULL);
  LOAD_FILE(BAD, "", &o, NULL);
  LOAD_FILE(BAD, "", NULL, NULL);
  snprintf(other, sizeof other, "%s/no-such-model.fb", tmp);
  snprintf(needle, sizeof needle, "'%s'", other); /* paths are quoted */
  LOAD_FILE(BAD, other, &o, needle);
  snprintf(other, sizeof other, "%s/no-such-folder/model.fb", tmp);
  LOAD_FILE(BAD, other, &o, NULL);
  snprintf(other, sizeof other, "%s/model.fb", path); /* below a file: ENOTDIR */
  LOAD_FILE(BAD, other, &o, NULL);
  {
    /* a name too long for the file system: names nothing; the message cuts the path after 200 bytes */
    size_t n = (size_t)snprintf(other, sizeof other, "%s/", tmp);
    memset(other + n, 'a', 300);
    other[n + 300] = '\0';
    LOAD_FILE(BAD, other, &o, "...'");
    CHECK(longest_run(g_error, 'a') <= 200);
  }
  snprintf(other, sizeof other, "%s/no-such-\xff\x01-model.fb", tmp); /* not UTF-8, a control character */
  LOAD_FILE(BAD, other, &o, "\\xFF");
  CHECK(strstr(g_error, "\\x01") != NULL);
  LOAD_FILE(BAD, tmp, &o, NULL); /* directories */
  LOAD_FILE(BAD, g_dir, &o, NULL);
  LOAD_FILE(AUTOREC_IO, "/proc/self/mem", &o, NULL); /* opens, but reading at offset 0 fails (EIO) */
  LOAD_FILE(AUTOREC_CORRUPT, "/proc/self/stat", &o, NULL); /* read to its end (procfs says size 0): no model */
  LOAD_FILE(AUTOREC_CORRUPT, "/dev/null", &o, NULL);
  path_of(other, sizeof other, "item.content"); /* the FlatBuffer without its container */
  LOAD_FILE(AUTOREC_CORRUPT, other, &o, NULL);

  bytes = read_bytes("item.fb", &size);
  bad = (unsigned char*)malloc(size);
  if (!bad) exit(1);
  snprintf(other, sizeof other, "%s/altered.fb", tmp);
  memcpy(bad, bytes, size);
  memcpy(bad, "ARCKPT\x1a", 8); /* a checkpoint's magic (its eighth byte is NUL) */
  if (CHECK(write_bytes(other, bad, size))) LOAD_FILE(BAD, other, &o, "checkpoint");
  memcpy(bad, bytes, size);
  put_u32(bad + 8, 3); /* container_version newer than the library's */
  if (CHECK(write_bytes(other, bad, size))) LOAD_FILE(AUTOREC_UNSUPPORTED, other, &o, NULL);
  memcpy(bad, bytes, size);
  bad[32 + (size - 32) / 2] ^= 0x5A;
  if (CHECK(write_bytes(other, bad, size))) LOAD_FILE(AUTOREC_CORRUPT, other, &o, NULL);
  memcpy(bad, bytes, size);
  put_u64(bad + 24, (uint64_t)1 << 40);
  if (CHECK(write_bytes(other, bad, size))) LOAD_FILE(AUTOREC_OUT_OF_MEMORY, other, &o, NULL);
  if (geteuid() != 0) { /* root reads anything */
    if (CHECK(write_bytes(other, bytes, size) && chmod(other, 0) == 0)) LOAD_FILE(AUTOREC_IO, other, &o, NULL);
  }
  unlink(other);
  free(bad);
  free(bytes);

  test_fifo(tmp);
}

static void test_load_buffer(void) {
  size_t size;
  unsigned char* good = read_bytes("item.fb", &size);
  unsigned char* bad = (unsigned char*)malloc(size + 1);
  unsigned char* copy = (unsigned char*)malloc(size);
  char* long_name = (char*)malloc(1001);
  autorec_load_options o;
  autorec_model* m = NOT_A_MODEL;
  const uint64_t content = get_u64(good + 24);

  if (!bad || !copy || !long_name) exit(1);
  cpu_options(&o);
  context("autorec_model_load_buffer");
  LOAD_BUFFER(OK, good, size, NULL, NULL, NULL);
  LOAD_BUFFER(OK, good, size, "item", &o, NULL);
  LOAD_BUFFER(BAD, NULL, size, "item", &o, NULL);
  LOAD_BUFFER(BAD, NULL, 0, "item", &o, NULL);
  EXPECT(BAD, autorec_model_load_buffer(good, size, "item", &o, NULL));
  o.struct_size = 16;
  LOAD_BUFFER(BAD, good, size, "item", &o, NULL);
  o.device = 7;
  o.struct_size = sizeof o;
  LOAD_BUFFER(BAD, good, size, "item", &o, NULL);
  cpu_options(&o);

  /* sizes */
  LOAD_BUFFER(AUTOREC_CORRUPT, good, 0, "item", &o, NULL);
  LOAD_BUFFER(AUTOREC_CORRUPT, good, 31, "item", &o, NULL);
  LOAD_BUFFER(AUTOREC_CORRUPT, good, 32, "item", &o, NULL);
  LOAD_BUFFER(AUTOREC_CORRUPT, good, size - 1, "item", &o, NULL);
  memcpy(bad, good, size);
  bad[size] = 0;
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size + 1, "item", &o, NULL);
  /* magic */
  memcpy(bad, good, size);
  bad[0] ^= 0xFF;
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size, "item", &o, "magic");
  memcpy(bad, good, size);
  memcpy(bad, "ARCKPT\x1a", 8);
  LOAD_BUFFER(BAD, bad, size, "item", &o, "checkpoint");
  /* one byte of the compressed body flipped; the checksum at its end */
  memcpy(bad, good, size);
  bad[32 + (size - 32) / 2] ^= 0x5A;
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size, "item", &o, NULL);
  memcpy(bad, good, size);
  bad[size - 1] ^= 0x01;
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size, "item", &o, NULL);
  /* versions: newer ones (and damaged ones, which look the same) are unsupported */
  memcpy(bad, good, size);
  put_u32(bad + 8, 3);
  LOAD_BUFFER(AUTOREC_UNSUPPORTED, bad, size, "item", &o, "container_version");
  put_u32(bad + 8, UINT32_MAX);
  LOAD_BUFFER(AUTOREC_UNSUPPORTED, bad, size, "item", &o, NULL);
  put_u32(bad + 8, 0);
  LOAD_BUFFER(AUTOREC_UNSUPPORTED, bad, size, "item", &o, NULL);
  memcpy(bad, good, size);
  put_u32(bad + 12, 99);
  LOAD_BUFFER(AUTOREC_UNSUPPORTED, bad, size, "item", &o, "schema_version");
  put_u32(bad + 12, 0);
  LOAD_BUFFER(AUTOREC_UNSUPPORTED, bad, size, "item", &o, NULL);
  /* size fields of the header */
  memcpy(bad, good, size);
  put_u64(bad + 24, (uint64_t)1 << 40); /* beyond the default 8 GiB: checked before decompressing */
  LOAD_BUFFER(AUTOREC_OUT_OF_MEMORY, bad, size, "item", &o, NULL);
  put_u64(bad + 24, UINT64_MAX);
  LOAD_BUFFER(AUTOREC_OUT_OF_MEMORY, bad, size, "item", &o, NULL);
  put_u64(bad + 24, content + 1); /* disagrees with the zstd frame */
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size, "item", &o, NULL);
  memcpy(bad, good, size);
  put_u64(bad + 16, get_u64(good + 16) + 1);
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size, "item", &o, NULL);
  /* max_decompressed_bytes */
  o.max_decompressed_bytes = 16;
  LOAD_BUFFER(AUTOREC_OUT_OF_MEMORY, good, size, "item", &o, NULL);
  o.max_decompressed_bytes = content - 1;
  LOAD_BUFFER(AUTOREC_OUT_OF_MEMORY, good, size, "item", &o, NULL);
  o.max_decompressed_bytes = content;
  LOAD_BUFFER(OK, good, size, "item", &o, NULL);
  cpu_options(&o);

  /* names label messages, quoted */
  memcpy(bad, good, size);
  bad[0] ^= 0xFF;
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size, "buf\nname", &o, "'buf\\x0Aname'");
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size, NULL, &o, "<memory>");
  memset(long_name, 'n', 1000);
  long_name[1000] = '\0';
  LOAD_BUFFER(AUTOREC_CORRUPT, bad, size, long_name, &o, "...'");
  CHECK(longest_run(g_error, 'n') <= 200);

  /* the bytes are copied: the caller may free them */
  memcpy(copy, good, size);
  if (EXPECT(OK, autorec_model_load_buffer(copy, size, "copy", &o, &m))) {
    float rating = SF;
    memset(copy, 0, size);
    free(copy);
    copy = NULL;
    CHECK(users_of(m) == 12);
    EXPECT(OK, autorec_model_predict(m, 0, 0, 1, &rating, NULL));
    CHECK(isfinite(rating));
    autorec_model_free(m);
  }
  free(copy);
  free(long_name);
  free(bad);
  free(good);
}

/* ---- Metadata ---- */

struct facts {
  const char* file;
  autorec_variant variant;
  const char* dtype;
  uint32_t layers;
  float rating_max;
  uint32_t schema;
};
static const struct facts kFacts[] = {
    {"item.fb", AUTOREC_ITEM_BASED, "fp32", 2, 5.0f, 4},  {"user.fb", AUTOREC_USER_BASED, "fp32", 2, 5.0f, 4},
    {"offset.fb", AUTOREC_ITEM_BASED, "fp32", 2, 5.0f, 3}, {"plain.fb", AUTOREC_ITEM_BASED, "fp32", 2, 5.0f, 2},
    {"deep.fb", AUTOREC_ITEM_BASED, "fp32", 3, 5.0f, 4},  {"fp16.fb", AUTOREC_ITEM_BASED, "fp16", 2, 5.0f, 4},
    {"int8.fb", AUTOREC_ITEM_BASED, "int8", 2, 5.0f, 4},  {"scaled.fb", AUTOREC_ITEM_BASED, "fp32", 2, 101.0f, 4},
};

static void test_metadata_of(const struct facts* f) {
  autorec_model* m = load_cpu(f->file);
  autorec_variant variant = SV;
  uint32_t users, items, columns, length, layers = SU, schema = SU, l, previous_out = 0;
  float lo = SF, hi = SF, mean = SF;
  const char* dtype = NULL;
  const char* backend = NULL;
  double rmse = -12345.0;

  context("metadata of %s", f->file);
  EXPECT(OK, autorec_model_variant(m, &variant));
  CHECK(variant == f->variant);
  users = users_of(m);
  items = items_of(m);
  columns = columns_of(m);
  length = length_of(m);
  CHECK(users == 12 && items == 9);
  CHECK(columns == (f->variant == AUTOREC_ITEM_BASED ? items : users));
  CHECK(length == (f->variant == AUTOREC_ITEM_BASED ? users : items));
  EXPECT(OK, autorec_model_num_layers(m, &layers));
  CHECK(layers == f->layers);
  for (l = 0; l < layers && l < 16; ++l) {
    uint32_t in = SU, out = SU;
    autorec_activation activation = SA;
    EXPECT(OK, autorec_model_layer(m, l, &in, &out, &activation));
    CHECK(strcmp(autorec_activation_name((int)activation), "unknown") != 0);
    if (l == 0) CHECK(in == length);
    if (l > 0) CHECK(in == previous_out);
    if (l + 1 == layers) CHECK(out == length && activation == AUTOREC_IDENTITY);
    previous_out = out;
  }
  EXPECT(OK, autorec_model_rating_range(m, &lo, &hi));
  CHECK(lo == 1.0f && hi == f->rating_max);
  EXPECT(OK, autorec_model_global_mean(m, &mean));
  CHECK(mean >= lo && mean <= hi);
  EXPECT(OK, autorec_model_weight_dtype(m, &dtype));
  CHECK(dtype && strcmp(dtype, f->dtype) == 0);
  EXPECT(OK, autorec_model_backend(m, &backend));
  CHECK(backend && strcmp(backend, "cpu") == 0);
  EXPECT(OK, autorec_model_test_rmse(m, &rmse));
  CHECK(!isnan(rmse) && rmse != -12345.0);
  EXPECT(OK, autorec_model_schema_version(m, &schema));
  CHECK(schema == f->schema);
  autorec_model_free(m);
}

static void test_metadata_failures(void) {
  autorec_model* m = load_cpu("item.fb");
  autorec_variant variant = SV;
  uint32_t u = SU, in = SU, out = SU, layers = SU;
  float lo = SF, hi = SF;
  const char* name = NULL;
  double d = -12345.0;
  autorec_activation activation = SA;

  context("metadata failures");
  EXPECT(BAD, autorec_model_variant(NULL, &variant));
  CHECK(variant == SV);
  EXPECT(BAD, autorec_model_variant(m, NULL));
  /* A count getter refuses a NULL model (leaving its output) and a NULL output. */
#define COUNT_GETTER_REFUSES_NULL(function) \
  EXPECT(BAD, function(NULL, &u));          \
  CHECK(u == SU);                           \
  EXPECT(BAD, function(m, NULL))
  COUNT_GETTER_REFUSES_NULL(autorec_model_num_users);
  COUNT_GETTER_REFUSES_NULL(autorec_model_num_items);
  COUNT_GETTER_REFUSES_NULL(autorec_model_num_columns);
  COUNT_GETTER_REFUSES_NULL(autorec_model_column_length);
  COUNT_GETTER_REFUSES_NULL(autorec_model_num_layers);
#undef COUNT_GETTER_REFUSES_NULL
  EXPECT(BAD, autorec_model_rating_range(NULL, &lo, &hi));
  CHECK(lo == SF && hi == SF);
  EXPECT(BAD, autorec_model_rating_range(m, NULL, &hi));
  CHECK(hi == SF);
  EXPECT(BAD, autorec_model_rating_range(m, &lo, NULL));
  CHECK(lo == SF);
  EXPECT(BAD, autorec_model_global_mean(NULL, &lo));
  CHECK(lo == SF);
  EXPECT(BAD, autorec_model_global_mean(m, NULL));
  EXPECT(BAD, autorec_model_weight_dtype(NULL, &name));
  CHECK(name == NULL);
  EXPECT(BAD, autorec_model_weight_dtype(m, NULL));
  EXPECT(BAD, autorec_model_backend(NULL, &name));
  CHECK(name == NULL);
  EXPECT(BAD, autorec_model_backend(m, NULL));
  EXPECT(BAD, autorec_model_test_rmse(NULL, &d));
  CHECK(d == -12345.0);
  EXPECT(BAD, autorec_model_test_rmse(m, NULL));
  EXPECT(BAD, autorec_model_schema_version(NULL, &u));
  CHECK(u == SU);
  EXPECT(BAD, autorec_model_schema_version(m, NULL));

  context("autorec_model_layer failures");
  EXPECT(OK, autorec_model_num_layers(m, &layers));
  EXPECT(BAD, autorec_model_layer(m, layers, &in, &out, &activation));
  CHECK(in == SU && out == SU && activation == SA);
  EXPECT(BAD, autorec_model_layer(m, UINT32_MAX, &in, &out, &activation));
  CHECK(in == SU && out == SU && activation == SA);
  EXPECT(BAD, autorec_model_layer(NULL, 0, &in, &out, &activation));
  CHECK(in == SU && out == SU && activation == SA);
  EXPECT(BAD, autorec_model_layer(m, 0, NULL, &out, &activation));
  CHECK(out == SU && activation == SA);
  EXPECT(BAD, autorec_model_layer(m, 0, &in, NULL, &activation));
  CHECK(in == SU && activation == SA);
  EXPECT(BAD, autorec_model_layer(m, 0, &in, &out, NULL));
  CHECK(in == SU && out == SU);
  autorec_model_free(m);
}

/* ---- Ids ---- */

#define ID_OF(m, i, b, n, l) (users ? autorec_model_user_id(m, i, b, n, l) : autorec_model_item_id(m, i, b, n, l))
#define INDEX_OF(m, s, p) (users ? autorec_model_user_index(m, s, p) : autorec_model_item_index(m, s, p))

static void test_id_side(const autorec_model* m, int users) {
  const char* id_fn = users ? "autorec_model_user_id" : "autorec_model_item_id";
  const char* index_fn = users ? "autorec_model_user_index" : "autorec_model_item_index";
  const uint32_t n = users ? users_of(m) : items_of(m);
  static const char* const spellings[] = {"0%s", "+%s", " %s", "%s ", "%s\n", "00%s", "%s.0", "%s\t"};
  char buffer[64], id[64], id0[64], other[80];
  uint32_t i, index, longest = 0;
  size_t length, longest_length = 0, k;
  char* big;

  context("%s / %s", id_fn, index_fn);
  for (i = 0; i < n; ++i) {
    memset(buffer, '#', sizeof buffer);
    length = SZ;
    EXPECT_NAMED(id_fn, OK, ID_OF(m, i, buffer, sizeof buffer, &length));
    CHECK(length == strlen(buffer));
    CHECK(is_canonical_int(buffer)); /* the corpus models have integer ids */
    index = SU;
    EXPECT_NAMED(index_fn, OK, INDEX_OF(m, buffer, &index));
    CHECK(index == i);
    if (length > longest_length) longest_length = length, longest = i;
  }
  EXPECT_NAMED(id_fn, OK, ID_OF(m, longest, id, sizeof id, NULL));
  EXPECT_NAMED(id_fn, OK, ID_OF(m, 0, id0, sizeof id0, NULL));
  CHECK(longest_length >= 1 && strlen(id) == longest_length); /* user ids reach "12"; item ids are one digit */

  /* length queries */
  length = SZ;
  EXPECT_NAMED(id_fn, OK, ID_OF(m, longest, NULL, 0, &length));
  CHECK(length == longest_length);
  EXPECT_NAMED(id_fn, OK, ID_OF(m, longest, NULL, 0, NULL));
  /* exact fit */
  memset(buffer, '#', sizeof buffer);
  length = SZ;
  EXPECT_NAMED(id_fn, OK, ID_OF(m, longest, buffer, longest_length + 1, &length));
  CHECK(strcmp(buffer, id) == 0 && length == longest_length && buffer[longest_length + 1] == '#');
  /* one byte short: the truncated id, and BAD_INPUT */
  memset(buffer, '#', sizeof buffer);
  length = SZ;
  EXPECT_NAMED(id_fn, BAD, ID_OF(m, longest, buffer, longest_length, &length));
  CHECK(strncmp(buffer, id, longest_length - 1) == 0 && buffer[longest_length - 1] == '\0' &&
        buffer[longest_length] == '#');
  CHECK(length == SZ || length == longest_length);
  memset(buffer, '#', sizeof buffer);
  EXPECT_NAMED(id_fn, BAD, ID_OF(m, longest, buffer, 1, NULL));
  CHECK(buffer[0] == '\0' && buffer[1] == '#');
  memset(buffer, '#', sizeof buffer);
  EXPECT_NAMED(id_fn, BAD, ID_OF(m, longest, buffer, 0, NULL)); /* too small for even the NUL: nothing written */
  CHECK(buffer[0] == '#');
  /* buffer NULL with a size: nothing written */
  length = SZ;
  EXPECT_NAMED(id_fn, BAD, ID_OF(m, 0, NULL, 8, &length));
  CHECK(length == SZ);
  /* index not below the count */
  memset(buffer, '#', sizeof buffer);
  length = SZ;
  EXPECT_NAMED(id_fn, BAD, ID_OF(m, n, buffer, sizeof buffer, &length));
  CHECK(buffer[0] == '#' && length == SZ);
  EXPECT_NAMED(id_fn, BAD, ID_OF(m, AUTOREC_NO_INDEX, buffer, sizeof buffer, &length));
  CHECK(buffer[0] == '#' && length == SZ);
  EXPECT_NAMED(id_fn, BAD, ID_OF(NULL, 0, buffer, sizeof buffer, &length));
  CHECK(buffer[0] == '#' && length == SZ);

  /* integer ids match only by their canonical spelling */
  for (k = 0; k < sizeof spellings / sizeof spellings[0]; ++k) {
    snprintf(other, sizeof other, spellings[k], id0);
    index = 0;
    EXPECT_NAMED(index_fn, OK, INDEX_OF(m, other, &index));
    CHECK(index == AUTOREC_NO_INDEX);
  }
  index = 0;
  EXPECT_NAMED(index_fn, OK, INDEX_OF(m, "987654321", &index));
  CHECK(index == AUTOREC_NO_INDEX);
  index = 0;
  EXPECT_NAMED(index_fn, OK, INDEX_OF(m, "", &index));
  CHECK(index == AUTOREC_NO_INDEX);
  index = 0;
  EXPECT_NAMED(index_fn, OK, INDEX_OF(m, "abc", &index));
  CHECK(index == AUTOREC_NO_INDEX);
  big = big_text('7');
  index = 0;
  EXPECT_NAMED(index_fn, OK, INDEX_OF(m, big, &index));
  CHECK(index == AUTOREC_NO_INDEX);
  free(big);
  index = SU;
  EXPECT_NAMED(index_fn, BAD, INDEX_OF(m, NULL, &index));
  CHECK(index == SU);
  EXPECT_NAMED(index_fn, BAD, INDEX_OF(m, id0, NULL));
  EXPECT_NAMED(index_fn, BAD, INDEX_OF(NULL, id0, &index));
  CHECK(index == SU);
}

static void test_ids(void) {
  autorec_model* m = load_cpu("item.fb");
  test_id_side(m, 1);
  test_id_side(m, 0);
  autorec_model_free(m);
  m = load_cpu("user.fb");
  test_id_side(m, 1);
  test_id_side(m, 0);
  autorec_model_free(m);
}

/* ---- Reconstruction ---- */

#define FAILS_F(want, buffer, n, call) \
  do {                                 \
    fill_f(buffer, n, SF);             \
    EXPECT(want, call);                \
    CHECK(all_f(buffer, n, SF));       \
  } while (0)

static void test_reconstruct_of(const char* file) {
  autorec_model* m = load_cpu(file);
  const uint32_t L = length_of(m);
  float lo = SF, hi = SF;
  float out[BIG], empty[BIG], again[BIG];
  autorec_entry e[3] = {{0, 4.0f}, {3, 2.0f}, {7, 5.0f}};
  autorec_entry bad[3];
  autorec_entry many[BIG];
  uint32_t k;

  context("autorec_model_reconstruct on %s", file);
  if (!CHECK(L > 8 && L + 4 <= BIG)) return;
  range_of(m, &lo, &hi);
  fill_f(out, BIG, SF);
  EXPECT(OK, autorec_model_reconstruct(m, e, 3, out, L + 4, 0));
  CHECK(all_finite(out, L));
  CHECK(all_f(out + L, 4, SF)); /* column_length floats, however large out is */
  fill_f(out, BIG, SF);
  EXPECT(OK, autorec_model_reconstruct(m, e, 3, out, L, 1));
  CHECK(in_range(out, L, lo, hi));
  /* no ratings: the cold-start reconstruction; NULL or not */
  EXPECT(OK, autorec_model_reconstruct(m, NULL, 0, empty, L, 0));
  CHECK(all_finite(empty, L));
  fill_f(again, BIG, SF);
  EXPECT(OK, autorec_model_reconstruct(m, e, 0, again, L, 0));
  CHECK(same_f(empty, again, L));
  /* a full column: every row once */
  for (k = 0; k < L; ++k) many[k].index = L - 1 - k, many[k].value = (float)(1 + k % 5);
  EXPECT(OK, autorec_model_reconstruct(m, many, L, out, L, 1));
  CHECK(in_range(out, L, lo, hi));

  /* failures: out untouched */
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(NULL, e, 3, out, L, 0));
  EXPECT(BAD, autorec_model_reconstruct(m, e, 3, NULL, L, 0));
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, e, 3, out, L - 1, 0));
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, e, 3, out, 0, 0));
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, NULL, 2, out, L, 0));
  memcpy(bad, e, sizeof e);
  bad[1].index = L;
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, bad, 3, out, L, 0));
  bad[1].index = AUTOREC_NO_INDEX;
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, bad, 3, out, L, 0));
  memcpy(bad, e, sizeof e);
  bad[2].index = bad[0].index; /* a row twice */
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, bad, 3, out, L, 0));
  bad[2].value = bad[0].value; /* even with the same value */
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, bad, 3, out, L, 0));
  memcpy(bad, e, sizeof e);
  bad[1].value = NAN;
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, bad, 3, out, L, 0));
  bad[1].value = INFINITY;
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, bad, 3, out, L, 0));
  bad[1].value = -INFINITY;
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, bad, 3, out, L, 0));
  /* more entries than rows: refused before anything is read (the arrays are shorter than the counts) */
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, e, L + 1, out, L, 0));
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, e, SIZE_MAX, out, L, 0));
  for (k = 0; k <= L; ++k) many[k].index = k % L, many[k].value = 3.0f;
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, many, L + 1, out, L, 0));
  autorec_model_free(m);
}

/* A single {index, 0} entry against the empty column: the same output (no input offset, no baseline), the
 * same codes shifted by the baseline's newcomer bias (a baseline counts the 0 as a rating), or different
 * codes (an input offset makes the 0 an input). */
enum zero_rule { ZERO_SAME, ZERO_SHIFTED, ZERO_DIFFERENT };
static void test_zero_entry(const char* file, enum zero_rule rule) {
  static const char* const names[] = {"equal", "shifted by one constant", "different"};
  autorec_model* m = load_cpu(file);
  const uint32_t L = length_of(m);
  float empty[BIG], zero[BIG];
  const autorec_entry z = {5, 0.0f};
  int clamp;
  uint32_t r;
  for (clamp = 0; clamp <= 1; ++clamp) {
    context("{5, 0} against no entries on %s, clamp %d (documented: %s)", file, clamp, names[rule]);
    EXPECT(OK, autorec_model_reconstruct(m, NULL, 0, empty, L, clamp));
    EXPECT(OK, autorec_model_reconstruct(m, &z, 1, zero, L, clamp));
    if (rule == ZERO_SAME) {
      CHECK(same_f(empty, zero, L));
    } else if (clamp == 0) {
      CHECK(!same_f(empty, zero, L));
      if (rule == ZERO_SHIFTED)
        for (r = 1; r < L; ++r) CHECK(fabsf((zero[r] - empty[r]) - (zero[0] - empty[0])) <= 1e-5f);
    }
  }
  autorec_model_free(m);
}

static void test_reconstruct_batch(void) {
  autorec_model* m = load_cpu("item.fb");
  const uint32_t L = length_of(m);
  /* column 0: 3 entries; column 1: none; column 2: 2 */
  autorec_entry e[5] = {{0, 4.0f}, {3, 2.0f}, {7, 5.0f}, {1, 3.0f}, {10, 1.0f}};
  /* entries before offsets[0] are not part of any column */
  autorec_entry shifted[5] = {{AUTOREC_NO_INDEX, NAN}, {0, INFINITY}, {2, 5.0f}, {4, 1.0f}, {6, 3.0f}};
  const size_t offsets[4] = {0, 3, 3, 5};
  const size_t shifted_offsets[2] = {2, 5};
  size_t off[4];
  autorec_entry bad[5];
  autorec_entry many[BIG];
  float out[3 * BIG], one[BIG];
  size_t c, k;

  context("autorec_model_reconstruct_batch");
  fill_f(out, 3 * BIG, SF);
  EXPECT(OK, autorec_model_reconstruct_batch(m, e, offsets, 3, out, 3 * L + 4, 0));
  CHECK(all_f(out + 3 * L, 4, SF));
  for (c = 0; c < 3; ++c) {
    EXPECT(OK, autorec_model_reconstruct(m, e + offsets[c], offsets[c + 1] - offsets[c], one, L, 0));
    CHECK(close_f(out + c * L, one, L, 1e-5));
  }
  EXPECT(OK, autorec_model_reconstruct_batch(m, e, offsets, 3, out, 3 * L, 1));
  for (c = 0; c < 3; ++c) {
    EXPECT(OK, autorec_model_reconstruct(m, e + offsets[c], offsets[c + 1] - offsets[c], one, L, 1));
    CHECK(close_f(out + c * L, one, L, 1e-5));
  }
  EXPECT(OK, autorec_model_reconstruct_batch(m, shifted, shifted_offsets, 1, out, L, 0));
  EXPECT(OK, autorec_model_reconstruct(m, shifted + 2, 3, one, L, 0));
  CHECK(close_f(out, one, L, 1e-5));
  /* no columns */
  fill_f(out, 3 * BIG, SF);
  EXPECT(OK, autorec_model_reconstruct_batch(m, NULL, offsets, 0, NULL, 0, 0));
  EXPECT(OK, autorec_model_reconstruct_batch(m, e, offsets, 0, out, 3 * L, 0));
  CHECK(all_f(out, 3 * BIG, SF));

  /* failures: out untouched */
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(NULL, e, offsets, 3, out, 3 * L, 0));
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, e, NULL, 3, out, 3 * L, 0));
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, NULL, offsets, 3, out, 3 * L, 0));
  EXPECT(BAD, autorec_model_reconstruct_batch(m, e, offsets, 3, NULL, 3 * L, 0));
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, e, offsets, 3, out, 3 * L - 1, 0));
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, e, offsets, 3, out, L, 0));
  off[0] = 0, off[1] = 3, off[2] = 2, off[3] = 5; /* decreasing */
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, e, off, 3, out, 3 * L, 0));
  /* a column autorec_model_reconstruct refuses: the message names it (column 2) */
  memcpy(bad, e, sizeof e);
  bad[4].index = bad[3].index;
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, bad, offsets, 3, out, 3 * L, 0));
  CHECK(strstr(g_error, "column 2") != NULL);
  memcpy(bad, e, sizeof e);
  bad[4].index = L;
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, bad, offsets, 3, out, 3 * L, 0));
  CHECK(strstr(g_error, "column 2") != NULL);
  memcpy(bad, e, sizeof e);
  bad[4].value = NAN;
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, bad, offsets, 3, out, 3 * L, 0));
  CHECK(strstr(g_error, "column 2") != NULL);
  for (k = 0; k < BIG; ++k) many[k].index = (uint32_t)(k % L), many[k].value = 3.0f;
  off[0] = 0, off[1] = 3, off[2] = 3, off[3] = 3 + L + 1; /* column 2 has more entries than rows */
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, many, off, 3, out, 3 * L, 0));
  CHECK(strstr(g_error, "column 2") != NULL);
  off[3] = SIZE_MAX;
  FAILS_F(BAD, out, 3 * BIG, autorec_model_reconstruct_batch(m, many, off, 3, out, 3 * L, 0));
  autorec_model_free(m);
}

static void test_reconstruct_column_of(const char* file) {
  autorec_model* m = load_cpu(file);
  const uint32_t C = columns_of(m), L = length_of(m);
  float lo = SF, hi = SF, out[BIG];
  uint32_t c;

  context("autorec_model_reconstruct_column on %s", file);
  range_of(m, &lo, &hi);
  for (c = 0; c < C; ++c) {
    fill_f(out, BIG, SF);
    EXPECT(OK, autorec_model_reconstruct_column(m, c, out, L + 4, 0));
    CHECK(all_finite(out, L) && all_f(out + L, 4, SF));
    EXPECT(OK, autorec_model_reconstruct_column(m, c, out, L, 1));
    CHECK(in_range(out, L, lo, hi));
  }
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct_column(m, C, out, L, 0));
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct_column(m, UINT32_MAX, out, L, 0));
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct_column(m, 0, out, L - 1, 0));
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct_column(m, 0, out, 0, 0));
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct_column(NULL, 0, out, L, 0));
  EXPECT(BAD, autorec_model_reconstruct_column(m, 0, NULL, L, 0));
  autorec_model_free(m);
}

/* ---- Prediction and ranking ---- */

static void test_predict(void) {
  autorec_model* m = load_cpu("item.fb");
  autorec_model* plain = load_cpu("plain.fb");
  const uint32_t U = users_of(m), I = items_of(m);
  float lo = SF, hi = SF, mean = SF, r = SF, r2 = SF, unclamped = SF;
  autorec_source s = SS, s2 = SS;
  char user0[64], item0[64];
  char* big;
  uint32_t u, i;

  context("autorec_model_predict");
  range_of(m, &lo, &hi);
  for (u = 0; u < U; ++u)
    for (i = 0; i < I; ++i) {
      r = SF, s = SS;
      EXPECT(OK, autorec_model_predict(m, u, i, 1, &r, &s));
      CHECK(r >= lo && r <= hi && valid_source(s));
      EXPECT(OK, autorec_model_predict(m, u, i, 1, &r2, NULL));
      CHECK(r2 == r);
      EXPECT(OK, autorec_model_predict(m, u, i, 0, &unclamped, &s2));
      CHECK(isfinite(unclamped) && s2 == s);
    }
  /* AUTOREC_NO_INDEX on either side: the cold-start answer */
  r = SF, s = SS;
  EXPECT(OK, autorec_model_predict(m, AUTOREC_NO_INDEX, 0, 1, &r, &s));
  CHECK(r >= lo && r <= hi && valid_source(s) && s != AUTOREC_SOURCE_MODEL);
  r = SF, s = SS;
  EXPECT(OK, autorec_model_predict(m, 0, AUTOREC_NO_INDEX, 1, &r, &s));
  CHECK(r >= lo && r <= hi && valid_source(s) && s != AUTOREC_SOURCE_MODEL);
  r = SF, s = SS;
  EXPECT(OK, autorec_model_predict(m, AUTOREC_NO_INDEX, AUTOREC_NO_INDEX, 1, &r, &s));
  CHECK(r >= lo && r <= hi && valid_source(s) && s != AUTOREC_SOURCE_MODEL);
  /* plain.fb (autorec-inspect: "unseen item: the model's reconstruction from an empty item column; unseen
   * user: the item's mean; both: the global mean") */
  context("autorec_model_predict cold starts on plain.fb");
  EXPECT(OK, autorec_model_global_mean(plain, &mean));
  s = SS;
  EXPECT(OK, autorec_model_predict(plain, 0, AUTOREC_NO_INDEX, 1, &r, &s));
  CHECK(s == AUTOREC_SOURCE_EMPTY_INPUT);
  s = SS;
  EXPECT(OK, autorec_model_predict(plain, AUTOREC_NO_INDEX, 0, 1, &r, &s));
  CHECK(s == AUTOREC_SOURCE_ITEM_MEAN);
  s = SS;
  EXPECT(OK, autorec_model_predict(plain, AUTOREC_NO_INDEX, AUTOREC_NO_INDEX, 1, &r, &s));
  CHECK(s == AUTOREC_SOURCE_GLOBAL_MEAN && near(r, mean, 1e-5));

  context("autorec_model_predict failures");
  r = SF, s = SS;
  EXPECT(BAD, autorec_model_predict(NULL, 0, 0, 1, &r, &s));
  CHECK(r == SF && s == SS);
  EXPECT(BAD, autorec_model_predict(m, 0, 0, 1, NULL, &s));
  CHECK(s == SS);
  EXPECT(BAD, autorec_model_predict(m, U, 0, 1, &r, &s));
  CHECK(r == SF && s == SS);
  EXPECT(BAD, autorec_model_predict(m, AUTOREC_NO_INDEX - 1, 0, 1, &r, &s));
  CHECK(r == SF && s == SS);
  EXPECT(BAD, autorec_model_predict(m, 0, I, 1, &r, &s));
  CHECK(r == SF && s == SS);
  EXPECT(BAD, autorec_model_predict(m, AUTOREC_NO_INDEX, I + 7, 0, &r, &s));
  CHECK(r == SF && s == SS);

  context("autorec_model_predict_ids");
  EXPECT(OK, autorec_model_user_id(m, 0, user0, sizeof user0, NULL));
  EXPECT(OK, autorec_model_item_id(m, 0, item0, sizeof item0, NULL));
  EXPECT(OK, autorec_model_predict(m, 0, 0, 1, &r, &s));
  r2 = SF, s2 = SS;
  EXPECT(OK, autorec_model_predict_ids(m, user0, item0, 1, &r2, &s2));
  CHECK(r2 == r && s2 == s);
  EXPECT(OK, autorec_model_predict_ids(m, user0, item0, 1, &r2, NULL));
  CHECK(r2 == r);
  EXPECT(OK, autorec_model_predict(m, AUTOREC_NO_INDEX, 0, 0, &r, &s));
  EXPECT(OK, autorec_model_predict_ids(m, "no such user", item0, 0, &r2, &s2));
  CHECK(r2 == r && s2 == s);
  {
    char spelled[80];
    snprintf(spelled, sizeof spelled, "0%s", user0); /* another id, not user0 */
    EXPECT(OK, autorec_model_predict_ids(m, spelled, item0, 0, &r2, &s2));
    CHECK(r2 == r && s2 == s);
  }
  EXPECT(OK, autorec_model_predict(m, AUTOREC_NO_INDEX, AUTOREC_NO_INDEX, 1, &r, &s));
  big = big_text('9');
  EXPECT(OK, autorec_model_predict_ids(m, big, big, 1, &r2, &s2));
  CHECK(r2 == r && s2 == s);
  free(big);
  r = SF, s = SS;
  EXPECT(BAD, autorec_model_predict_ids(NULL, user0, item0, 1, &r, &s));
  CHECK(r == SF && s == SS);
  EXPECT(BAD, autorec_model_predict_ids(m, NULL, item0, 1, &r, &s));
  CHECK(r == SF && s == SS);
  EXPECT(BAD, autorec_model_predict_ids(m, user0, NULL, 1, &r, &s));
  CHECK(r == SF && s == SS);
  EXPECT(BAD, autorec_model_predict_ids(m, user0, item0, 1, NULL, &s));
  CHECK(s == SS);
  autorec_model_free(plain);
  autorec_model_free(m);
}

/* Outputs of the top-k calls. */
static uint32_t g_items[BIG];
static float g_ratings[BIG];
static autorec_source g_sources[BIG];
static size_t g_count;

static void fill_top(void) {
  size_t i;
  for (i = 0; i < BIG; ++i) g_items[i] = SU, g_ratings[i] = SF, g_sources[i] = SS;
  g_count = SZ;
}
static int top_untouched(void) {
  return all_u32(g_items, BIG, SU) && all_f(g_ratings, BIG, SF) && all_src(g_sources, BIG, SS) && g_count == SZ;
}
/* count items, distinct and below n, ratings non-increasing within [lo, hi], sources valid (when given),
 * nothing written past count. */
static int top_well_formed(size_t count, uint32_t n, float lo, float hi, int with_sources) {
  size_t a, b;
  if (count > BIG) return 0;
  for (a = 0; a < count; ++a) {
    if (g_items[a] >= n || !(g_ratings[a] >= lo && g_ratings[a] <= hi)) return 0;
    if (a > 0 && g_ratings[a] > g_ratings[a - 1]) return 0;
    if (with_sources ? !valid_source(g_sources[a]) : g_sources[a] != SS) return 0;
    for (b = 0; b < a; ++b)
      if (g_items[a] == g_items[b]) return 0;
  }
  return all_u32(g_items + count, BIG - count, SU) && all_f(g_ratings + count, BIG - count, SF) &&
         all_src(g_sources + count, BIG - count, SS);
}
static int top_contains(size_t count, uint32_t item) {
  size_t a;
  for (a = 0; a < count; ++a)
    if (g_items[a] == item) return 1;
  return 0;
}

#define FAILS_TOP(want, call) \
  do {                        \
    fill_top();               \
    EXPECT(want, call);       \
    CHECK(top_untouched());   \
  } while (0)

static void test_recommend_of(const char* file) {
  autorec_model* m = load_cpu(file);
  const uint32_t U = users_of(m), I = items_of(m);
  float lo = SF, hi = SF, r;
  uint32_t all[BIG];
  size_t k, all_count, a;

  context("autorec_model_recommend on %s", file);
  range_of(m, &lo, &hi);
  fill_top();
  EXPECT(OK, autorec_model_recommend(m, 0, 3, 0, g_items, g_ratings, g_sources, &g_count));
  CHECK(g_count == 3 && top_well_formed(g_count, I, lo, hi, 1));
  for (a = 0; a < g_count; ++a) { /* the ranked ratings are predict's */
    EXPECT(OK, autorec_model_predict(m, 0, g_items[a], 1, &r, NULL));
    CHECK(near(r, g_ratings[a], 1e-5));
  }
  { /* by rating alone: well formed too; a rank_by outside the enum is refused; the rule's weight is >= 0 */
    float w = -1.0f;
    fill_top();
    EXPECT(OK, autorec_model_recommend_by(m, 0, 3, 0, AUTOREC_RANK_BY_RATING, g_items, g_ratings, g_sources, &g_count));
    CHECK(g_count == 3 && top_well_formed(g_count, I, lo, hi, 1));
    EXPECT(BAD, autorec_model_recommend_by(m, 0, 3, 0, 9, g_items, g_ratings, NULL, &g_count));
    EXPECT(OK, autorec_model_ranking_weight(m, &w));
    CHECK(w >= 0.0f);
  }
  fill_top();
  EXPECT(OK, autorec_model_recommend(m, 0, I + 5, 0, g_items, g_ratings, NULL, &g_count));
  CHECK(g_count == I && top_well_formed(g_count, I, lo, hi, 0)); /* every item, once */
  memcpy(all, g_items, sizeof all);
  all_count = g_count;
  for (k = 1; k <= I; ++k) { /* a shorter list is a prefix */
    fill_top();
    EXPECT(OK, autorec_model_recommend(m, 0, k, 0, g_items, g_ratings, g_sources, &g_count));
    CHECK(g_count == k && top_well_formed(g_count, I, lo, hi, 1) && memcmp(g_items, all, k * sizeof all[0]) == 0);
  }
  fill_top();
  EXPECT(OK, autorec_model_recommend(m, U - 1, I, 1, g_items, g_ratings, g_sources, &g_count));
  CHECK(g_count <= I && top_well_formed(g_count, I, lo, hi, 1));
  fill_top();
  EXPECT(OK, autorec_model_recommend(m, 0, I, 1, g_items, g_ratings, g_sources, &g_count));
  CHECK(g_count < all_count && top_well_formed(g_count, I, lo, hi, 1)); /* user 0 rated something */

  FAILS_TOP(BAD, autorec_model_recommend(m, 0, 0, 0, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend(m, U, 3, 0, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend(m, AUTOREC_NO_INDEX, 3, 0, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend(NULL, 0, 3, 0, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend(m, 0, 3, 0, NULL, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend(m, 0, 3, 0, g_items, NULL, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend(m, 0, 3, 0, g_items, g_ratings, g_sources, NULL));
  autorec_model_free(m);
}

/* ---- Fold-in ---- */

#define FOLD(mm, r, n, lambda, o, os)                                                 \
  (user ? autorec_model_fold_in_user(mm, r, n, lambda, o, os)                         \
        : autorec_model_fold_in_item(mm, r, n, lambda, o, os))
#define FOLD_FAILS(want, call)                 \
  do {                                         \
    fill_f(out, BIG, SF);                      \
    EXPECT_NAMED(fold_fn, want, call);         \
    CHECK(all_f(out, BIG, SF));                \
  } while (0)

/* fold_in_user (user = 1) or fold_in_item on one model. */
static void test_fold_side(const autorec_model* m, const char* file, int user) {
  const char* fold_fn = user ? "autorec_model_fold_in_user" : "autorec_model_fold_in_item";
  const uint32_t n = user ? items_of(m) : users_of(m); /* the other side: what ratings index and out holds */
  /* a new user's ratings index items (< 9); a new item's, users (< 12) */
  const autorec_entry ratings[3] = {{0, 5.0f}, {2, 3.0f}, {4, 1.0f}};
  autorec_entry bad[3], many[BIG];
  float lo = SF, hi = SF, out[BIG], ref[BIG];
  uint32_t k;

  context("%s on %s", fold_fn, file);
  range_of(m, &lo, &hi);
  fill_f(out, BIG, SF);
  EXPECT_NAMED(fold_fn, OK, FOLD(m, ratings, 3, 0.0f, out, n + 4));
  CHECK(in_range(out, n, lo, hi) && all_f(out + n, 4, SF)); /* clamped to the rating scale */
  memcpy(ref, out, sizeof ref);
  EXPECT_NAMED(fold_fn, OK, FOLD(m, ratings, 3, 0.5f, out, n)); /* 0 or less: the default, 0.5 */
  CHECK(same_f(out, ref, n));
  EXPECT_NAMED(fold_fn, OK, FOLD(m, ratings, 3, -1.0f, out, n));
  CHECK(same_f(out, ref, n));
  EXPECT_NAMED(fold_fn, OK, FOLD(m, ratings, 3, 1e-4f, out, n)); /* the smallest accepted */
  CHECK(in_range(out, n, lo, hi));
  EXPECT_NAMED(fold_fn, OK, FOLD(m, ratings, 3, 50.0f, out, n));
  CHECK(in_range(out, n, lo, hi));
  EXPECT_NAMED(fold_fn, OK, FOLD(m, ratings, 1, 0.0f, out, n));
  CHECK(in_range(out, n, lo, hi));
  for (k = 0; k < n; ++k) many[k].index = n - 1 - k, many[k].value = (float)(1 + k % 5);
  EXPECT_NAMED(fold_fn, OK, FOLD(m, many, n, 0.0f, out, n)); /* every index once */
  CHECK(in_range(out, n, lo, hi));

  /* failures: nothing written */
  FOLD_FAILS(BAD, FOLD(NULL, ratings, 3, 0.0f, out, n));
  FOLD_FAILS(BAD, FOLD(m, NULL, 0, 0.0f, out, n)); /* an empty list */
  FOLD_FAILS(BAD, FOLD(m, ratings, 0, 0.0f, out, n));
  FOLD_FAILS(BAD, FOLD(m, NULL, 3, 0.0f, out, n));
  FOLD_FAILS(BAD, FOLD(m, ratings, 3, NAN, out, n));
  FOLD_FAILS(BAD, FOLD(m, ratings, 3, 5e-5f, out, n));
  FOLD_FAILS(BAD, FOLD(m, ratings, 3, 1e-30f, out, n));
  EXPECT_NAMED(fold_fn, BAD, FOLD(m, ratings, 3, 0.0f, NULL, n));
  FOLD_FAILS(BAD, FOLD(m, ratings, 3, 0.0f, out, n - 1));
  FOLD_FAILS(BAD, FOLD(m, ratings, 3, 0.0f, out, 0));
  for (k = 0; k <= n; ++k) many[k].index = k % n, many[k].value = 3.0f;
  FOLD_FAILS(BAD, FOLD(m, many, n + 1, 0.0f, out, n)); /* more ratings than indices */
  FOLD_FAILS(BAD, FOLD(m, ratings, n + 1, 0.0f, out, n)); /* before reading: the array is shorter */
  FOLD_FAILS(BAD, FOLD(m, ratings, SIZE_MAX, 0.0f, out, n));
  memcpy(bad, ratings, sizeof bad);
  bad[1].index = n;
  FOLD_FAILS(BAD, FOLD(m, bad, 3, 0.0f, out, n));
  bad[1].index = AUTOREC_NO_INDEX;
  FOLD_FAILS(BAD, FOLD(m, bad, 3, 0.0f, out, n));
  memcpy(bad, ratings, sizeof bad);
  bad[2].index = bad[0].index;
  FOLD_FAILS(BAD, FOLD(m, bad, 3, 0.0f, out, n));
  memcpy(bad, ratings, sizeof bad);
  bad[1].value = NAN;
  FOLD_FAILS(BAD, FOLD(m, bad, 3, 0.0f, out, n));
  bad[1].value = INFINITY;
  FOLD_FAILS(BAD, FOLD(m, bad, 3, 0.0f, out, n));
  bad[1].value = -INFINITY;
  FOLD_FAILS(BAD, FOLD(m, bad, 3, 0.0f, out, n));
}

static void test_recommend_for_ratings_of(const autorec_model* m, const char* file) {
  const uint32_t I = items_of(m);
  const autorec_entry ratings[3] = {{0, 5.0f}, {2, 3.0f}, {4, 1.0f}};
  autorec_entry bad[3], many[BIG];
  float lo = SF, hi = SF, folded[BIG];
  uint32_t all[BIG];
  size_t a, k;

  context("autorec_model_recommend_for_ratings on %s", file);
  range_of(m, &lo, &hi);
  EXPECT(OK, autorec_model_fold_in_user(m, ratings, 3, 0.0f, folded, I));
  fill_top();
  EXPECT(OK, autorec_model_recommend_for_ratings(m, ratings, 3, I + 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  CHECK(g_count == I && top_well_formed(g_count, I, lo, hi, 1));
  for (a = 0; a < g_count && a < BIG; ++a) CHECK(near(g_ratings[a], folded[g_items[a]], 1e-5)); /* fold_in_user's */
  memcpy(all, g_items, sizeof all);
  fill_top();
  EXPECT(OK, autorec_model_recommend_for_ratings(m, ratings, 3, 2, 0, 0.0f, g_items, g_ratings, NULL, &g_count));
  CHECK(g_count == 2 && top_well_formed(g_count, I, lo, hi, 0) && memcmp(g_items, all, 2 * sizeof all[0]) == 0);
  fill_top();
  EXPECT(OK, autorec_model_recommend_for_ratings(m, ratings, 3, I, 1, 0.5f, g_items, g_ratings, g_sources, &g_count));
  CHECK(g_count == I - 3 && top_well_formed(g_count, I, lo, hi, 1));
  CHECK(!top_contains(g_count, 0) && !top_contains(g_count, 2) && !top_contains(g_count, 4));

  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(NULL, ratings, 3, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, 3, 0, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, NULL, 0, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, 0, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, NULL, 3, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, 3, 3, 0, 0.0f, NULL, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, 3, 3, 0, 0.0f, g_items, NULL, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, 3, 3, 0, 0.0f, g_items, g_ratings, g_sources, NULL));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, 3, 3, 0, NAN, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, 3, 3, 0, 5e-5f, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, I + 1, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, ratings, SIZE_MAX, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  for (k = 0; k <= I; ++k) many[k].index = (uint32_t)(k % I), many[k].value = 3.0f;
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, many, I + 1, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  memcpy(bad, ratings, sizeof bad);
  bad[1].index = I;
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, bad, 3, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  memcpy(bad, ratings, sizeof bad);
  bad[2].index = bad[0].index;
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, bad, 3, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
  memcpy(bad, ratings, sizeof bad);
  bad[1].value = NAN;
  FAILS_TOP(BAD, autorec_model_recommend_for_ratings(m, bad, 3, 3, 0, 0.0f, g_items, g_ratings, g_sources, &g_count));
}

static void test_fold_in(void) {
  static const char* const files[] = {"item.fb", "user.fb", "deep.fb"};
  size_t f;
  for (f = 0; f < sizeof files / sizeof files[0]; ++f) {
    autorec_model* m = load_cpu(files[f]);
    test_fold_side(m, files[f], 1);
    test_fold_side(m, files[f], 0);
    test_recommend_for_ratings_of(m, files[f]);
    autorec_model_free(m);
  }
}

/* ---- Additions ---- */

#define ADD(mm, id, r, n, lambda, index) \
  (user ? autorec_model_add_user(mm, id, r, n, lambda, index) : autorec_model_add_item(mm, id, r, n, lambda, index))

/* The failures of add_user (user = 1) or add_item, each leaving the model unchanged. `fresh` is an id the
 * model lacks, `taken` one it has. */
static void test_add_failures(autorec_model* m, int user, const char* fresh, const char* taken) {
  const char* add_fn = user ? "autorec_model_add_user" : "autorec_model_add_item";
  const uint32_t U = users_of(m), I = items_of(m), C = columns_of(m), L = length_of(m);
  const uint32_t n = user ? I : U; /* what the ratings index */
  const autorec_entry ratings[3] = {{0, 5.0f}, {2, 3.0f}, {4, 1.0f}};
  static const char* const spellings[] = {"0%s", "+%s", " %s", "%s ", "%s.0", "%sx"};
  autorec_entry bad[3], many[BIG];
  char id[80], message[sizeof g_error];
  uint32_t index, k, found;
  size_t s;
  char* big;

  context("%s failures", add_fn);
#define ADD_FAILS(call)                                                    \
  do {                                                                     \
    index = SU;                                                            \
    EXPECT_NAMED(add_fn, BAD, call);                                       \
    memcpy(message, g_error, sizeof message);                              \
    CHECK(index == SU);                                                    \
    CHECK(counts_are(m, U, I, C, L)); /* the model is unchanged */        \
  } while (0)
  ADD_FAILS(ADD(NULL, fresh, ratings, 3, 0.0f, &index));
  ADD_FAILS(ADD(m, NULL, ratings, 3, 0.0f, &index));
  ADD_FAILS(ADD(m, taken, ratings, 3, 0.0f, &index)); /* already there */
  ADD_FAILS(ADD(m, "", ratings, 3, 0.0f, &index));
  ADD_FAILS(ADD(m, "abc", ratings, 3, 0.0f, &index)); /* integer ids: integers only */
  for (s = 0; s < sizeof spellings / sizeof spellings[0]; ++s) {
    snprintf(id, sizeof id, spellings[s], fresh); /* not the integer's spelling */
    ADD_FAILS(ADD(m, id, ratings, 3, 0.0f, &index));
  }
  ADD_FAILS(ADD(m, fresh, NULL, 0, 0.0f, &index)); /* an empty list */
  ADD_FAILS(ADD(m, fresh, ratings, 0, 0.0f, &index));
  ADD_FAILS(ADD(m, fresh, NULL, 3, 0.0f, &index));
  ADD_FAILS(ADD(m, fresh, ratings, 3, NAN, &index));
  ADD_FAILS(ADD(m, fresh, ratings, 3, 5e-5f, &index));
  ADD_FAILS(ADD(m, fresh, ratings, n + 1, 0.0f, &index));
  ADD_FAILS(ADD(m, fresh, ratings, SIZE_MAX, 0.0f, &index));
  for (k = 0; k <= n && k < BIG; ++k) many[k].index = k % n, many[k].value = 3.0f;
  ADD_FAILS(ADD(m, fresh, many, n + 1, 0.0f, &index));
  memcpy(bad, ratings, sizeof bad);
  bad[1].index = n;
  ADD_FAILS(ADD(m, fresh, bad, 3, 0.0f, &index));
  memcpy(bad, ratings, sizeof bad);
  bad[2].index = bad[0].index;
  ADD_FAILS(ADD(m, fresh, bad, 3, 0.0f, &index));
  memcpy(bad, ratings, sizeof bad);
  bad[1].value = INFINITY;
  ADD_FAILS(ADD(m, fresh, bad, 3, 0.0f, &index));
  bad[1].value = NAN;
  ADD_FAILS(ADD(m, fresh, bad, 3, 0.0f, &index));
  /* messages quote ids: one line, control characters and bytes that are not UTF-8 as \xHH, cut after 200 bytes */
  ADD_FAILS(ADD(m, "1\n2", ratings, 3, 0.0f, &index));
  CHECK(strstr(message, "'1\\x0A2'") != NULL);
  ADD_FAILS(ADD(m, "\xff" "1", ratings, 3, 0.0f, &index));
  CHECK(strstr(message, "\\xFF") != NULL);
  big = big_text('x');
  ADD_FAILS(ADD(m, big, ratings, 3, 0.0f, &index));
  CHECK(strlen(message) < MAX_MESSAGE && strstr(message, "...'") != NULL && longest_run(message, 'x') <= 200);
  big[0] = '1'; /* 1 MB of digits: too large an integer */
  memset(big + 1, '0', ((size_t)1 << 20) - 1);
  ADD_FAILS(ADD(m, big, ratings, 3, 0.0f, &index));
  CHECK(strlen(message) < MAX_MESSAGE && strstr(message, "...'") != NULL);
  free(big);
#undef ADD_FAILS
  found = 0;
  EXPECT(OK, user ? autorec_model_user_index(m, fresh, &found) : autorec_model_item_index(m, fresh, &found));
  CHECK(found == AUTOREC_NO_INDEX); /* none of the failures added it */
}

static void test_add_item_based(void) {
  autorec_model* m = load_cpu("item.fb");
  const uint32_t U = users_of(m), I = items_of(m), C = columns_of(m), L = length_of(m);
  const autorec_entry by_items[3] = {{0, 5.0f}, {2, 3.0f}, {4, 1.0f}}; /* a new user's ratings */
  const autorec_entry by_users[3] = {{1, 4.0f}, {5, 2.0f}, {9, 5.0f}}; /* a new item's */
  float lo = SF, hi = SF, r = SF, out[BIG], ref[BIG];
  autorec_source s = SS;
  autorec_entry e;
  uint32_t index = SU, found = SU, user;
  char id[64];
  size_t length = SZ;
  int clamp;

  range_of(m, &lo, &hi);
  context("autorec_model_add_user on item.fb");
  test_add_failures(m, 1, "13", "1");
  EXPECT(OK, autorec_model_add_user(m, "13", by_items, 3, 0.0f, &index));
  CHECK(index == U);
  /* num_users grows; column_length and num_columns do not: added users are not rows of a reconstruction */
  CHECK(counts_are(m, U + 1, I, C, L));
  EXPECT(OK, autorec_model_user_index(m, "13", &found));
  CHECK(found == U);
  EXPECT(OK, autorec_model_user_id(m, U, id, sizeof id, &length));
  CHECK(strcmp(id, "13") == 0 && length == 2);
  EXPECT(OK, autorec_model_predict(m, U, 1, 1, &r, &s));
  CHECK(r >= lo && r <= hi && valid_source(s));
  EXPECT(OK, autorec_model_predict_ids(m, "13", "1", 1, &r, &s));
  CHECK(r >= lo && r <= hi && valid_source(s));
  fill_top();
  EXPECT(OK, autorec_model_recommend(m, U, I, 1, g_items, g_ratings, g_sources, &g_count));
  CHECK(g_count == I - 3 && top_well_formed(g_count, I, lo, hi, 1)); /* the items it was added with are left out */
  CHECK(!top_contains(g_count, 0) && !top_contains(g_count, 2) && !top_contains(g_count, 4));
  e.index = L, e.value = 3.0f; /* the added user's index: not a row */
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, &e, 1, out, L, 0));
  e.index = U;
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, &e, 1, out, L + 1, 0));
  EXPECT(OK, autorec_model_reconstruct(m, by_users, 3, out, L, 0));
  index = SU;
  EXPECT(BAD, autorec_model_add_user(m, "13", by_items, 3, 0.0f, &index)); /* now taken */
  CHECK(index == SU && counts_are(m, U + 1, I, C, L));
  EXPECT(OK, autorec_model_add_user(m, "14", by_items, 1, 0.25f, NULL)); /* index may be NULL */
  CHECK(counts_are(m, U + 2, I, C, L));
  EXPECT(OK, autorec_model_user_index(m, "14", &found));
  CHECK(found == U + 1);

  /* "the indices must be inputs of the network": a new item cannot be rated by an added user */
  context("ratings of an added user on item.fb (documented: refused, an added user is not a network input)");
  e.index = U, e.value = 4.0f;
  FAILS_F(BAD, out, BIG, autorec_model_fold_in_item(m, &e, 1, 0.0f, out, U + 2));
  CHECK(strstr(autorec_last_error(), "added") != NULL);
  index = SU;
  EXPECT(BAD, autorec_model_add_item(m, "99", &e, 1, 0.0f, &index));
  CHECK(index == SU && counts_are(m, U + 2, I, C, L));

  context("autorec_model_add_item on item.fb");
  test_add_failures(m, 0, "10", "1");
  index = SU;
  EXPECT(OK, autorec_model_add_item(m, "10", by_users, 3, 0.0f, &index));
  CHECK(index == I);
  CHECK(counts_are(m, U + 2, I + 1, C + 1, L)); /* a new column */
  EXPECT(OK, autorec_model_item_index(m, "10", &found));
  CHECK(found == I);
  EXPECT(OK, autorec_model_item_id(m, I, id, sizeof id, NULL));
  CHECK(strcmp(id, "10") == 0);
  for (clamp = 0; clamp <= 1; ++clamp) { /* the added column: as reconstructed from its ratings */
    fill_f(out, BIG, SF);
    EXPECT(OK, autorec_model_reconstruct_column(m, C, out, L, clamp));
    EXPECT(OK, autorec_model_reconstruct(m, by_users, 3, ref, L, clamp));
    CHECK(close_f(out, ref, L, 1e-5) && all_f(out + L, BIG - L, SF));
  }
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct_column(m, C + 1, out, L, 0));
  EXPECT(OK, autorec_model_predict(m, 0, I, 1, &r, &s));
  CHECK(r >= lo && r <= hi);
  fill_top();
  EXPECT(OK, autorec_model_recommend(m, 0, I + 1, 0, g_items, g_ratings, g_sources, &g_count));
  CHECK(g_count == I + 1 && top_well_formed(g_count, I + 1, lo, hi, 1) && top_contains(g_count, I));
  /* a new user's ratings may index the added item (the bound counts it) */
  e.index = I, e.value = 4.0f;
  EXPECT(OK, autorec_model_fold_in_user(m, &e, 1, 0.0f, out, I + 1));
  CHECK(in_range(out, I + 1, lo, hi));
  {
    const autorec_entry with_new[2] = {{I, 4.0f}, {0, 2.0f}};
    EXPECT(OK, autorec_model_add_user(m, "15", with_new, 2, 0.0f, &user));
    CHECK(user == U + 2 && counts_are(m, U + 3, I + 1, C + 1, L));
    fill_top();
    EXPECT(OK, autorec_model_recommend(m, user, I + 1, 1, g_items, g_ratings, g_sources, &g_count));
    CHECK(g_count == I - 1 && !top_contains(g_count, I) && !top_contains(g_count, 0));
  }
  autorec_model_free(m);
}

static void test_add_user_based(void) {
  autorec_model* m = load_cpu("user.fb");
  const uint32_t U = users_of(m), I = items_of(m), C = columns_of(m), L = length_of(m);
  const autorec_entry by_items[3] = {{0, 5.0f}, {3, 2.0f}, {8, 4.0f}};  /* a new user's ratings */
  const autorec_entry by_users[3] = {{0, 4.0f}, {2, 3.0f}, {11, 1.0f}}; /* a new item's */
  float lo = SF, hi = SF, out[BIG], ref[BIG];
  uint32_t index = SU;
  autorec_entry e;
  int clamp;

  range_of(m, &lo, &hi);
  context("autorec_model_add_user on user.fb");
  test_add_failures(m, 1, "13", "12");
  EXPECT(OK, autorec_model_add_user(m, "13", by_items, 3, 0.0f, &index));
  CHECK(index == U);
  CHECK(counts_are(m, U + 1, I, C + 1, L)); /* a user of a user-based model is a column */
  for (clamp = 0; clamp <= 1; ++clamp) {
    fill_f(out, BIG, SF);
    EXPECT(OK, autorec_model_reconstruct_column(m, C, out, L, clamp));
    EXPECT(OK, autorec_model_reconstruct(m, by_items, 3, ref, L, clamp));
    CHECK(close_f(out, ref, L, 1e-5) && all_f(out + L, BIG - L, SF));
  }

  context("autorec_model_add_item on user.fb");
  test_add_failures(m, 0, "10", "9");
  index = SU;
  EXPECT(OK, autorec_model_add_item(m, "10", by_users, 3, 0.0f, &index));
  CHECK(index == I);
  CHECK(counts_are(m, U + 1, I + 1, C + 1, L)); /* a row: column_length stays the network's */
  e.index = L, e.value = 3.0f;
  FAILS_F(BAD, out, BIG, autorec_model_reconstruct(m, &e, 1, out, L, 0));
  /* a new item's ratings may index the added user, a column (the bound counts it) */
  e.index = U, e.value = 5.0f;
  EXPECT(OK, autorec_model_add_item(m, "11", &e, 1, 0.0f, NULL));
  CHECK(counts_are(m, U + 1, I + 2, C + 1, L));

  context("ratings of an added item on user.fb (documented: refused, an added item is not a network input)");
  e.index = I, e.value = 4.0f;
  FAILS_F(BAD, out, BIG, autorec_model_fold_in_user(m, &e, 1, 0.0f, out, I + 2));
  CHECK(strstr(autorec_last_error(), "added") != NULL);
  autorec_model_free(m);
}

/* ---- CUDA ---- */

static void test_cuda(const char* tmp) {
  char path[4096], plugin[4096];
  autorec_load_options o;
  autorec_model* m = NOT_A_MODEL;
  const char* backend = NULL;
  autorec_status got;

  path_of(path, sizeof path, "item.fb");
  autorec_load_options_init(&o);
  /* A plugin path that exists but is not a plugin (a model file): the plugin cannot load. */
  context("device CUDA with AUTOREC_CUDA_PLUGIN naming a file that is not a plugin");
  if (CHECK(setenv("AUTOREC_CUDA_PLUGIN", path, 1) == 0)) {
    o.device = AUTOREC_DEVICE_CUDA;
    LOAD_FILE(AUTOREC_UNSUPPORTED, path, &o, NULL);
    o.device = AUTOREC_DEVICE_AUTO; /* AUTO falls back to the CPU */
    if (EXPECT(OK, autorec_model_load_file(path, &o, &m))) {
      EXPECT(OK, autorec_model_backend(m, &backend));
      CHECK(backend && strcmp(backend, "cpu") == 0);
      autorec_model_free(m);
    }
  }
  /* The same with a long plugin path (250 bytes of name): still one short message */
  context("device CUDA with a long AUTOREC_CUDA_PLUGIN naming a file that is not a plugin");
  {
    const size_t n = (size_t)snprintf(plugin, sizeof plugin, "%s/", tmp);
    const unsigned char junk[16] = {0};
    memset(plugin + n, 'p', 250);
    strcpy(plugin + n + 250, ".so");
    if (CHECK(write_bytes(plugin, junk, sizeof junk) && setenv("AUTOREC_CUDA_PLUGIN", plugin, 1) == 0)) {
      o.device = AUTOREC_DEVICE_CUDA;
      LOAD_FILE(AUTOREC_UNSUPPORTED, path, &o, NULL);
    }
    unlink(plugin);
  }
  /* A plugin path that names nothing is skipped (backend.cpp), and the library looks next to itself: the
   * build's plugin loads where there is a GPU (backend "cuda") and is unsupported where there is none. */
  context("device CUDA, AUTOREC_CUDA_PLUGIN naming nothing");
  if (CHECK(setenv("AUTOREC_CUDA_PLUGIN", "/nonexistent/libautorec_infer_cuda.so", 1) == 0)) {
    m = NOT_A_MODEL;
    o.device = AUTOREC_DEVICE_CUDA;
    got = autorec_model_load_file(path, &o, &m);
    expect_at(__FILE__, __LINE__, got == OK ? OK : AUTOREC_UNSUPPORTED, got, "autorec_model_load_file(item.fb, CUDA)");
    if (got == OK && m && m != NOT_A_MODEL) {
      autorec_model* cpu = load_cpu("item.fb");
      const uint32_t L = length_of(m);
      const autorec_entry e[3] = {{0, 4.0f}, {3, 2.0f}, {7, 5.0f}};
      float a[BIG], b[BIG];
      EXPECT(OK, autorec_model_backend(m, &backend));
      CHECK(backend && strcmp(backend, "cuda") == 0);
      EXPECT(OK, autorec_model_reconstruct(m, e, 3, a, L, 0));
      EXPECT(OK, autorec_model_reconstruct(cpu, e, 3, b, L, 0));
      CHECK(close_f(a, b, L, 1e-4));
      autorec_model_free(cpu);
      autorec_model_free(m);
    } else {
      CHECK(m == NULL);
    }
  }
  unsetenv("AUTOREC_CUDA_PLUGIN");
}

int main(int argc, char** argv) {
  char tmp[] = "/tmp/autorec-header-test-XXXXXX";
  const char* level;
  size_t f;

  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL_DIR (tests/fuzz/corpus/model)\n", argv[0]);
    return 2;
  }
  g_dir = argv[1];
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 2;
  }

  test_library();
  level = autorec_cpu_level();
  test_options();
  test_load_file(tmp);
  test_load_buffer();
  for (f = 0; f < sizeof kFacts / sizeof kFacts[0]; ++f) test_metadata_of(&kFacts[f]);
  test_metadata_failures();
  test_ids();
  test_reconstruct_of("item.fb");
  test_reconstruct_of("user.fb");
  test_reconstruct_of("deep.fb");
  /* item.fb and plain.fb were trained without an input offset (autorec-inspect: "(rating + 0) x ..." and
   * plain input), offset.fb with one ("(rating + 3)") */
  test_zero_entry("item.fb", ZERO_SHIFTED);
  test_zero_entry("plain.fb", ZERO_SAME);
  test_zero_entry("offset.fb", ZERO_DIFFERENT);
  test_reconstruct_batch();
  test_reconstruct_column_of("item.fb");
  test_reconstruct_column_of("user.fb");
  test_predict();
  test_recommend_of("item.fb");
  test_recommend_of("user.fb");
  test_fold_in();
  test_add_item_based();
  test_add_user_based();
  test_cuda(tmp);

  context("end");
  CHECK(strcmp(autorec_cpu_level(), level) == 0); /* chosen once per process */
  rmdir(tmp);
  printf("header_test: %d checks, %d failed\n", g_checks, g_failed);
  return g_failed ? 1 : 0;
}
