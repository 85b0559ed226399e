/* consumer_c MODEL USER ITEM: a host of the C API. Prints the model's shape, the prediction for (USER, ITEM)
 * by external ids and USER's top 5 unrated items; exits 3 with the status and message when a call fails. */
#include <autorec/autorec.h>
#include <stdio.h>

static int failed(const char* what, autorec_status status) {
  fprintf(stderr, "error: %s: %s (%d): %s\n", what, autorec_status_name(status), (int)status, autorec_last_error());
  return 3;
}

int main(int argc, char** argv) {
  autorec_load_options options;
  autorec_model* model = NULL;
  autorec_status s;
  autorec_variant variant;
  autorec_source source;
  uint32_t users, items, layers, user, top[5];
  float rating, ratings[5];
  const char *dtype, *backend;
  size_t n, i;
  char id[64];

  if (argc != 4) {
    fprintf(stderr, "usage: consumer_c MODEL USER ITEM\n");
    return 2;
  }
  if (autorec_api_version() / 10000 != AUTOREC_API_VERSION_MAJOR) {
    fprintf(stderr, "error: library API %d, header %d\n", autorec_api_version(), AUTOREC_API_VERSION);
    return 3;
  }
  autorec_load_options_init(&options);
  options.device = AUTOREC_DEVICE_CPU;
  options.threads = 1;
  if ((s = autorec_model_load_file(argv[1], &options, &model)) != AUTOREC_OK) return failed("load", s);
  if ((s = autorec_model_variant(model, &variant)) != AUTOREC_OK || (s = autorec_model_num_users(model, &users)) != AUTOREC_OK ||
      (s = autorec_model_num_items(model, &items)) != AUTOREC_OK || (s = autorec_model_num_layers(model, &layers)) != AUTOREC_OK ||
      (s = autorec_model_weight_dtype(model, &dtype)) != AUTOREC_OK || (s = autorec_model_backend(model, &backend)) != AUTOREC_OK)
    return failed("metadata", s);
  printf("model %s users=%u items=%u layers=%u dtype=%s backend=%s\n", variant == AUTOREC_ITEM_BASED ? "item" : "user",
         (unsigned)users, (unsigned)items, (unsigned)layers, dtype, backend);

  if ((s = autorec_model_predict_ids(model, argv[2], argv[3], 1, &rating, &source)) != AUTOREC_OK) return failed("predict", s);
  printf("predict %s %s %.6f %s\n", argv[2], argv[3], rating, autorec_source_name(source));

  if ((s = autorec_model_user_index(model, argv[2], &user)) != AUTOREC_OK) return failed("user index", s);
  if (user == AUTOREC_NO_INDEX) {
    fprintf(stderr, "error: unknown user %s\n", argv[2]);
    return 3;
  }
  if ((s = autorec_model_recommend(model, user, 5, 1, top, ratings, NULL, &n)) != AUTOREC_OK) return failed("recommend", s);
  printf("top");
  for (i = 0; i < n; ++i) {
    if ((s = autorec_model_item_id(model, top[i], id, sizeof id, NULL)) != AUTOREC_OK) return failed("item id", s);
    printf(" %s:%.6f", id, ratings[i]);
  }
  printf("\n");
  autorec_model_free(model);
  return 0;
}
