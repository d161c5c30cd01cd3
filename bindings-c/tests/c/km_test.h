/* A tiny test harness for the kubemetrics C tests: checks that count, report and go on, plus
 * access to the loopback API server the test script started (KM_TEST_KUBECONFIG, KM_TEST_SERVER).
 */
#ifndef KM_TEST_H
#define KM_TEST_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kubemetrics.h"

static int km_passed = 0;
static int km_failed = 0;

#define KM_FAIL(...)                                                                              \
    do {                                                                                          \
        km_failed++;                                                                              \
        fprintf(stderr, "%s:%d: FAILED: ", __FILE__, __LINE__);                                   \
        fprintf(stderr, __VA_ARGS__);                                                             \
        fprintf(stderr, "\n");                                                                    \
    } while (0)

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (cond) km_passed++;                                                                    \
        else KM_FAIL("%s", #cond);                                                                \
    } while (0)

/* `expr` returns `expected`; on a failure status the last error message is set. */
#define CHECK_STATUS(expr, expected)                                                              \
    do {                                                                                          \
        km_status got_ = (expr);                                                                  \
        km_status want_ = (expected);                                                             \
        if (got_ != want_) {                                                                      \
            KM_FAIL("%s returned %s, expected %s (last error: %s)", #expr, km_status_name(got_), \
                    km_status_name(want_), km_last_error_message());                              \
        } else if (got_ != KM_STATUS_OK && (km_last_error_status() != got_ ||                     \
                                            km_last_error_message()[0] == '\0')) {                \
            KM_FAIL("%s: the last error does not describe %s", #expr, km_status_name(got_));      \
        } else if (got_ == KM_STATUS_OK && km_last_error_message()[0] != '\0') {                  \
            KM_FAIL("%s succeeded but left a last error: %s", #expr, km_last_error_message());    \
        } else {                                                                                  \
            km_passed++;                                                                          \
        }                                                                                         \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, KM_STATUS_OK)

/* `expr` fails with the status `expected` and a last error message that contains `needle`. */
#define CHECK_ERROR(expr, expected, needle)                                                       \
    do {                                                                                          \
        CHECK_STATUS(expr, expected);                                                             \
        CHECK_MSG_CONTAINS(needle);                                                               \
    } while (0)

/* A NULL pointer argument: KM_STATUS_NULL_ARGUMENT naming the parameter. */
#define CHECK_NULL_ARG(expr, param) CHECK_ERROR(expr, KM_STATUS_NULL_ARGUMENT, "`" param "` is NULL")

/* The NULL checks of the common shapes of accessor: `handle` is a valid handle named `param` in
 * the header, the out-parameters are valid pointers. Each shape checks every pointer parameter in
 * turn: NULL there, valid pointers elsewhere, KM_STATUS_NULL_ARGUMENT naming that parameter. */

/* f(a, b): two pointer parameters */
#define CHECK_NULL_2(f, a, a_param, b, b_param)                                                   \
    do {                                                                                          \
        CHECK_NULL_ARG(f(NULL, b), a_param);                                                      \
        CHECK_NULL_ARG(f(a, NULL), b_param);                                                      \
    } while (0)

/* f(a, b, c): three pointer parameters */
#define CHECK_NULL_3(f, a, a_param, b, b_param, c, c_param)                                       \
    do {                                                                                          \
        CHECK_NULL_ARG(f(NULL, b, c), a_param);                                                   \
        CHECK_NULL_ARG(f(a, NULL, c), b_param);                                                   \
        CHECK_NULL_ARG(f(a, b, NULL), c_param);                                                   \
    } while (0)

/* f(handle, out) */
#define CHECK_NULL_GETTER(f, handle, param, out) CHECK_NULL_2(f, handle, param, out, "out")

/* CHECK_NULL_GETTER of each getter that follows, all of the function pointer type `fn_type`. */
#define CHECK_NULL_GETTERS(fn_type, handle, param, out, ...)                                      \
    do {                                                                                          \
        fn_type const getters_[] = {__VA_ARGS__};                                                 \
        for (size_t i_ = 0; i_ < sizeof getters_ / sizeof getters_[0]; i_++)                      \
            CHECK_NULL_GETTER(getters_[i_], handle, param, out);                                  \
    } while (0)

/* f(handle, index, out), with index 0 */
#define CHECK_NULL_INDEXED(f, handle, param, out)                                                 \
    do {                                                                                          \
        CHECK_NULL_ARG(f(NULL, 0, out), param);                                                   \
        CHECK_NULL_ARG(f(handle, 0, NULL), "out");                                                \
    } while (0)

/* f(handle, key, out) with a string `key` (parameter `key_param`); a key that is not UTF-8 gives
 * KM_STATUS_INVALID_UTF8. */
#define CHECK_NULL_LOOKUP(f, handle, param, key, key_param, out)                                  \
    do {                                                                                          \
        CHECK_NULL_ARG(f(NULL, key, out), param);                                                 \
        CHECK_NULL_ARG(f(handle, NULL, out), key_param);                                          \
        CHECK_NULL_ARG(f(handle, key, NULL), "out");                                              \
        CHECK_STATUS(f(handle, "\xff", out), KM_STATUS_INVALID_UTF8);                             \
    } while (0)

/* f(handle, index, first, second), with index 0 */
#define CHECK_NULL_INDEXED_PAIR(f, handle, param, first, first_param, second, second_param)       \
    do {                                                                                          \
        CHECK_NULL_ARG(f(NULL, 0, first, second), param);                                         \
        CHECK_NULL_ARG(f(handle, 0, NULL, second), first_param);                                  \
        CHECK_NULL_ARG(f(handle, 0, first, NULL), second_param);                                  \
    } while (0)

#define CHECK_STR(actual, expected)                                                               \
    do {                                                                                          \
        const char *a_ = (actual);                                                                \
        const char *e_ = (expected);                                                              \
        if (a_ != NULL && e_ != NULL && strcmp(a_, e_) == 0) km_passed++;                         \
        else KM_FAIL("%s is \"%s\", expected \"%s\"", #actual, a_ ? a_ : "(null)", e_ ? e_ : "(null)"); \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                          \
    do {                                                                                          \
        const char *h_ = (haystack);                                                              \
        if (h_ != NULL && strstr(h_, (needle)) != NULL) km_passed++;                              \
        else KM_FAIL("%s (\"%s\") does not contain \"%s\"", #haystack, h_ ? h_ : "(null)", (needle)); \
    } while (0)

#define CHECK_MSG_CONTAINS(needle) CHECK_CONTAINS(km_last_error_message(), needle)

#define CHECK_INT(actual, expected)                                                               \
    do {                                                                                          \
        long long a_ = (long long)(actual);                                                       \
        long long e_ = (long long)(expected);                                                     \
        if (a_ == e_) km_passed++;                                                                \
        else KM_FAIL("%s is %lld, expected %lld", #actual, a_, e_);                               \
    } while (0)

/* The canonical string of a quantity (borrowed or owned) equals `expected`. */
#define CHECK_QTY(q, expected)                                                                    \
    do {                                                                                          \
        char *s_ = NULL;                                                                          \
        if ((q) == NULL) {                                                                        \
            KM_FAIL("%s is NULL, expected %s", #q, (expected));                                   \
        } else if (km_quantity_to_string((q), &s_) != KM_STATUS_OK) {                             \
            KM_FAIL("km_quantity_to_string(%s): %s", #q, km_last_error_message());                \
        } else {                                                                                  \
            CHECK_STR(s_, (expected));                                                            \
        }                                                                                         \
        km_string_free(s_);                                                                       \
    } while (0)

/* A parenthesized argument list without its parentheses: KM_ARGS (a, b) is a, b. */
#define KM_ARGS(...) __VA_ARGS__

/* `f(args..., &value)` succeeds and gives a `value` of `type` that `check` finds equal to
 * `expected`. `args` are the arguments before the out-parameter, in parentheses. */
#define CHECK_GET(type, check, f, args, expected)                                                 \
    do {                                                                                          \
        type value_ = 0;                                                                          \
        CHECK_OK(f(KM_ARGS args, &value_));                                                       \
        check(value_, expected);                                                                  \
    } while (0)

/* An accessor gives this string: CHECK_GET_STR(km_pod_metrics_name, (pod), "batch-1"). */
#define CHECK_GET_STR(f, args, expected) CHECK_GET(const char *, CHECK_STR, f, args, expected)
/* An accessor gives this int64_t. */
#define CHECK_GET_INT(f, args, expected) CHECK_GET(int64_t, CHECK_INT, f, args, expected)
/* An accessor gives a borrowed quantity with this canonical string. */
#define CHECK_GET_QTY(f, args, expected) CHECK_GET(const km_quantity *, CHECK_QTY, f, args, expected)

/* A keyed collection of a handle (labels, usage by resource): `count_f(handle)` is `count`; the
 * entry at `index` has the key `key` and a value of `type` that `check` finds equal to `value`;
 * the index `count` is KM_STATUS_OUT_OF_RANGE. */
#define CHECK_ENTRIES(count_f, at_f, handle, count, index, type, key, check, value)              \
    do {                                                                                          \
        const char *key_ = NULL;                                                                  \
        type value_ = NULL;                                                                       \
        CHECK_INT(count_f(handle), count);                                                        \
        CHECK_OK(at_f(handle, index, &key_, &value_));                                            \
        CHECK_STR(key_, key);                                                                     \
        check(value_, value);                                                                     \
        CHECK_STATUS(at_f(handle, count, &key_, &value_), KM_STATUS_OUT_OF_RANGE);                \
    } while (0)

static inline int km_test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, km_passed, km_failed);
    return km_failed == 0 ? 0 : 1;
}

static inline const char *km_test_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "%s is not set: run these tests through bindings-c/scripts/test.sh\n", name);
        exit(2);
    }
    return v;
}

static inline const char *km_test_kubeconfig(void) { return km_test_env("KM_TEST_KUBECONFIG"); }

/* PUT `path` to the loopback server's control endpoint (KM_TEST_SERVER=http://127.0.0.1:PORT);
 * returns 0 when it answered 200. */
static inline int km_test_control(const char *path) {
    const char *url = km_test_env("KM_TEST_SERVER");
    const char *colon = strrchr(url, ':');
    if (colon == NULL) return -1;
    int port = atoi(colon + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    char request[512];
    int n = snprintf(request, sizeof request,
                     "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", path);
    if (write(fd, request, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    char response[1024];
    ssize_t got = read(fd, response, sizeof response - 1);
    close(fd);
    if (got <= 0) return -1;
    response[got] = '\0';
    return strncmp(response, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

#define CONTROL(path) CHECK(km_test_control(path) == 0)

#endif
