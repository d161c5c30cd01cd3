/* Quantities, strings, statuses and the last-error API: every function, every NULL argument,
 * every error status a quantity can give. Needs no server. */
#include "km_test.h" /* first: it sets _GNU_SOURCE */

#include <math.h>

static km_quantity *parse(const char *text) {
    km_quantity *q = NULL;
    km_status s = km_quantity_parse(text, &q);
    if (s != KM_STATUS_OK) KM_FAIL("parse(\"%s\"): %s", text, km_last_error_message());
    return q;
}

static void test_version_and_status_names(void) {
    CHECK(km_version() != NULL);
    CHECK_STR(km_version(), KM_TEST_VERSION);
    /* The numbers and names are part of the ABI: each status, its number, and its name as the
     * header spells it. */
#define STATUS(name, number) {KM_STATUS_##name, number, "KM_STATUS_" #name}
    static const struct {
        km_status status;
        int number;
        const char *name;
    } statuses[] = {
        STATUS(OK, 0), STATUS(CONFIG, 1), STATUS(AUTH, 2), STATUS(NOT_FOUND, 3),
        STATUS(METRICS_UNAVAILABLE, 4), STATUS(API, 5), STATUS(QUANTITY, 6), STATUS(IO, 7),
        STATUS(INTERNAL, 8), STATUS(NULL_ARGUMENT, 100), STATUS(PANIC, 101),
        STATUS(INVALID_UTF8, 102), STATUS(OUT_OF_RANGE, 103),
    };
#undef STATUS
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        CHECK_INT(statuses[i].status, statuses[i].number);
        CHECK_STR(km_status_name(statuses[i].status), statuses[i].name);
    }
    CHECK_STR(km_status_name(-1), "KM_STATUS_UNKNOWN");
    CHECK_STR(km_status_name(9), "KM_STATUS_UNKNOWN");
}

static void test_parse_and_format(void) {
    static const struct {
        const char *input, *canonical, *plain;
        long long milli, value;
    } cases[] = {
        {"250264852n", "250264852n", "0.250264852", 251, 1},
        {"1.5Gi", "1536Mi", "1610612736", 1610612736000LL, 1610612736LL},
        {"1.5", "1500m", "1.5", 1500, 2},
        {"8318172Ki", "8318172Ki", "8517808128", 8517808128000LL, 8517808128LL},
        {"12e6", "12e6", "12000000", 12000000000LL, 12000000},
        {"100M", "100M", "100000000", 100000000000LL, 100000000},
        {"-1500m", "-1500m", "-1.5", -1500, -2},
        {"0.1n", "1n", "0.000000001", 1, 1},
        {"0", "0", "0", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        km_quantity *q = NULL;
        CHECK_OK(km_quantity_parse(cases[i].input, &q));
        if (q == NULL) continue;
        CHECK_QTY(q, cases[i].canonical);
        char *plain = NULL;
        CHECK_OK(km_quantity_to_plain_decimal(q, &plain));
        CHECK_STR(plain, cases[i].plain);
        km_string_free(plain);
        CHECK_GET_INT(km_quantity_milli_value, (q), cases[i].milli);
        CHECK_GET_INT(km_quantity_value, (q), cases[i].value);
        double d = -1;
        CHECK_OK(km_quantity_as_double(q, &d));
        CHECK(fabs(d - strtod(cases[i].plain, NULL)) <= fabs(d) * 1e-15);
        km_quantity_free(q);
    }
}

static void test_compare_and_arithmetic(void) {
    km_quantity *one = parse("1"), *milli = parse("1000m"), *exp = parse("1e0"), *two = parse("2");
    km_quantity *half = parse("1500m");
    int c = 42;
    CHECK_OK(km_quantity_cmp(one, milli, &c));
    CHECK_INT(c, 0);
    CHECK_OK(km_quantity_cmp(one, exp, &c));
    CHECK_INT(c, 0);
    CHECK_OK(km_quantity_cmp(one, two, &c));
    CHECK_INT(c, -1);
    CHECK_OK(km_quantity_cmp(two, one, &c));
    CHECK_INT(c, 1);

    km_quantity *sum = NULL, *diff = NULL, *copy = NULL;
    CHECK_OK(km_quantity_add(half, one, &sum));
    CHECK_QTY(sum, "2500m");
    CHECK_OK(km_quantity_sub(one, half, &diff));
    CHECK_QTY(diff, "-500m");
    CHECK_OK(km_quantity_clone(sum, &copy));
    CHECK(copy != sum);
    CHECK_OK(km_quantity_cmp(copy, sum, &c));
    CHECK_INT(c, 0);
    km_quantity_free(sum);
    CHECK_QTY(copy, "2500m"); /* the copy lives on */

    /* Arithmetic beyond 10^1000: KM_STATUS_QUANTITY, out untouched. */
    km_quantity *huge = parse("9e1000"), *neg_huge = parse("-9e1000");
    km_quantity *sentinel = (km_quantity *)&c, *out = sentinel;
    CHECK_STATUS(km_quantity_add(huge, huge, &out), KM_STATUS_QUANTITY);
    CHECK(out == sentinel);
    CHECK_INT(km_last_error_http_status(), 0);
    CHECK_STATUS(km_quantity_sub(huge, neg_huge, &out), KM_STATUS_QUANTITY);
    CHECK(out == sentinel);

    km_quantity_free(copy);
    km_quantity_free(diff);
    km_quantity_free(huge);
    km_quantity_free(neg_huge);
    km_quantity_free(one);
    km_quantity_free(milli);
    km_quantity_free(exp);
    km_quantity_free(two);
    km_quantity_free(half);
}

static void test_errors(void) {
    km_quantity *q = NULL;
    /* Invalid quantities. */
    CHECK_ERROR(km_quantity_parse("abc", &q), KM_STATUS_QUANTITY, "abc");
    CHECK(q == NULL);
    CHECK_STATUS(km_quantity_parse("", &q), KM_STATUS_QUANTITY);
    CHECK_STATUS(km_quantity_parse("1.5.5", &q), KM_STATUS_QUANTITY);
    CHECK_STATUS(km_quantity_parse("Ki", &q), KM_STATUS_QUANTITY);
    CHECK_STATUS(km_quantity_parse("1e2147483648", &q), KM_STATUS_QUANTITY);
    CHECK_STATUS(km_quantity_parse("1e1001", &q), KM_STATUS_QUANTITY);
    CHECK(q == NULL);
    /* Not UTF-8. */
    CHECK_ERROR(km_quantity_parse("1\xffKi", &q), KM_STATUS_INVALID_UTF8,
                "km_quantity_parse: argument `text` is not valid UTF-8");
    CHECK(q == NULL);

    /* Values beyond int64_t are never wrapped. */
    km_quantity *exa = parse("1E"), *ten_exa = parse("10E");
    int64_t v = 7;
    CHECK_ERROR(km_quantity_milli_value(exa, &v), KM_STATUS_OUT_OF_RANGE, "do not fit");
    CHECK_INT(v, 7);
    CHECK_GET_INT(km_quantity_value, (exa), 1000000000000000000LL);
    v = 7;
    CHECK_STATUS(km_quantity_value(ten_exa, &v), KM_STATUS_OUT_OF_RANGE);
    CHECK_INT(v, 7);
    char *plain = NULL;
    CHECK_OK(km_quantity_to_plain_decimal(ten_exa, &plain));
    CHECK_STR(plain, "10000000000000000000");
    km_string_free(plain);
    km_quantity_free(exa);
    km_quantity_free(ten_exa);
}

static void test_null_arguments(void) {
    km_quantity *q = parse("1Ki");
    km_quantity *out = NULL;
    char *s = NULL;
    int64_t i = 0;
    double d = 0;
    int c = 0;
    CHECK_NULL_2(km_quantity_parse, "1", "text", &out, "out");
    CHECK_NULL_GETTER(km_quantity_clone, q, "quantity", &out);
    CHECK_NULL_GETTER(km_quantity_to_string, q, "quantity", &s);
    CHECK_NULL_GETTER(km_quantity_to_plain_decimal, q, "quantity", &s);
    CHECK_NULL_GETTER(km_quantity_milli_value, q, "quantity", &i);
    CHECK_NULL_GETTER(km_quantity_value, q, "quantity", &i);
    CHECK_NULL_GETTER(km_quantity_as_double, q, "quantity", &d);
    CHECK_NULL_3(km_quantity_cmp, q, "a", q, "b", &c, "out");
    CHECK_NULL_3(km_quantity_add, q, "a", q, "b", &out, "out");
    CHECK_NULL_3(km_quantity_sub, q, "a", q, "b", &out, "out");
    CHECK(out == NULL && s == NULL && i == 0 && d == 0 && c == 0);
    CHECK_INT(km_last_error_http_status(), 0);
    /* Every _free accepts NULL. */
    km_quantity_free(NULL);
    km_string_free(NULL);
    CHECK(1);
    km_quantity_free(q);
}

static void test_last_error(void) {
    km_quantity *q = NULL;
    CHECK_STATUS(km_quantity_parse("12 cores", &q), KM_STATUS_QUANTITY);
    const char *message = km_last_error_message();
    CHECK_CONTAINS(message, "12 cores");
    CHECK_INT(km_last_error_status(), KM_STATUS_QUANTITY);
    CHECK_INT(km_last_error_http_status(), 0);
    size_t length = strlen(message);
    CHECK_INT(km_last_error_message_copy(NULL, 0), length);
    char small[6] = "xxxxx";
    CHECK_INT(km_last_error_message_copy(small, sizeof small), length);
    CHECK_INT(strlen(small), 5);
    CHECK(strncmp(small, message, 5) == 0);
    char big[512];
    CHECK_INT(km_last_error_message_copy(big, sizeof big), length);
    CHECK_STR(big, message);
    CHECK_INT(km_last_error_message_copy(big, 0), length); /* nothing written */
    CHECK_STR(big, message);
    /* Clearing. */
    km_last_error_clear();
    CHECK_STR(km_last_error_message(), "");
    CHECK_INT(km_last_error_status(), KM_STATUS_OK);
    CHECK_INT(km_last_error_message_copy(big, sizeof big), 0);
    CHECK_STR(big, "");
    /* A successful call clears the last error too. */
    CHECK_STATUS(km_quantity_parse("x", &q), KM_STATUS_QUANTITY);
    CHECK_OK(km_quantity_parse("1", &q));
    CHECK_STR(km_last_error_message(), "");
    CHECK_INT(km_last_error_status(), KM_STATUS_OK);
    km_quantity_free(q);
}

int main(void) {
    test_version_and_status_names();
    test_parse_and_format();
    test_compare_and_arithmetic();
    test_errors();
    test_null_arguments();
    test_last_error();
    km_shutdown(); /* no runtime was started: a no-op */
    return km_test_summary("test_quantity");
}
