#define BOOST_TEST_MODULE autorec
#include <boost/test/included/unit_test.hpp>
