/* The client against the loopback API server (the repo's `kubemetrics loopback-api`, fixtures of
 * core/src/loopback_api/fixtures.rs): every client, metrics and top function, NULL arguments for
 * every pointer parameter, and every error status a server or a kubeconfig can cause. */
#include "km_test.h" /* first: it sets _GNU_SOURCE */

#include <stdint.h>

static km_client *client = NULL;
static const char *kubeconfig = NULL;

static void test_client_new(void) {
    km_client *c = NULL;
    CHECK_OK(km_client_new(kubeconfig, NULL, &client));
    CHECK(client != NULL);
    CHECK_GET_STR(km_client_default_namespace, (client), "default");

    /* An explicit context. */
    CHECK_OK(km_client_new(kubeconfig, "loopback", &c));
    km_client_free(c);
    c = NULL;

    /* KUBECONFIG, as kubectl reads it, with and without a context. */
    setenv("KUBECONFIG", kubeconfig, 1);
    CHECK_OK(km_client_new(NULL, NULL, &c));
    km_client_free(c);
    c = NULL;
    CHECK_OK(km_client_new(NULL, "loopback", &c));
    km_client_free(c);
    c = NULL;

    /* KM_STATUS_CONFIG: no kubeconfig (and not in a cluster), unknown file, unknown context. */
    km_client *sentinel = (km_client *)&c, *out = sentinel;
    setenv("KUBECONFIG", "/nonexistent/kubemetrics-c-test/config", 1);
    unsetenv("KUBERNETES_SERVICE_HOST");
    CHECK_STATUS(km_client_new(NULL, NULL, &out), KM_STATUS_CONFIG);
    CHECK(out == sentinel);
    unsetenv("KUBECONFIG");
    CHECK_ERROR(km_client_new("/nonexistent/kubeconfig", NULL, &out), KM_STATUS_CONFIG, "/nonexistent/kubeconfig");
    CHECK(out == sentinel);
    CHECK_ERROR(km_client_new(kubeconfig, "no-such-context", &out), KM_STATUS_CONFIG,
                "context \"no-such-context\" does not exist");
    CHECK(out == sentinel);
    CHECK_INT(km_last_error_http_status(), 0);

    /* Not UTF-8. */
    CHECK_ERROR(km_client_new("\xfe", NULL, &out), KM_STATUS_INVALID_UTF8, "`kubeconfig`");
    CHECK_ERROR(km_client_new(kubeconfig, "\xfe", &out), KM_STATUS_INVALID_UTF8, "`context`");
    CHECK(out == sentinel);

    /* Timeouts. */
    CHECK_OK(km_client_set_timeout_ms(client, 10000));
}

static void test_node_metrics(void) {
    km_node_metrics_list *list = NULL;
    const km_node_metrics *m = NULL;
    const char *s = NULL;
    const km_quantity *q = NULL;
    int64_t i64 = 0;

    CHECK_OK(km_client_list_node_metrics(client, NULL, &list));
    CHECK_INT(km_node_metrics_list_count(list), 2);
    /* The server's order: node-b, node-a. */
    CHECK_OK(km_node_metrics_list_get(list, 0, &m));
    CHECK_GET_STR(km_node_metrics_name, (m), "node-b");
    CHECK_OK(km_node_metrics_list_get(list, 1, &m));
    CHECK_GET_STR(km_node_metrics_name, (m), "node-a");
    CHECK_GET_STR(km_node_metrics_timestamp, (m), "2024-01-01T00:09:50Z");
    CHECK_GET_INT(km_node_metrics_timestamp_unix, (m), 1704067790);
    CHECK_GET_INT(km_node_metrics_window_ms, (m), 20000);
    CHECK_OK(km_node_metrics_usage(m, "cpu", &q));
    CHECK_QTY(q, "1630534153n");
    CHECK_OK(km_quantity_milli_value(q, &i64));
    CHECK_INT(i64, 1631);
    CHECK_OK(km_node_metrics_usage(m, "memory", &q));
    CHECK_QTY(q, "8318172Ki");
    const km_quantity *before = q;
    CHECK_ERROR(km_node_metrics_usage(m, "gpu", &q), KM_STATUS_NOT_FOUND, "node node-a reports no usage of \"gpu\"");
    CHECK(q == before);
    CHECK_INT(km_node_metrics_usage_count(m), 2);
    CHECK_OK(km_node_metrics_usage_at(m, 0, &s, &q));
    CHECK_STR(s, "cpu");
    CHECK_QTY(q, "1630534153n");
    CHECK_OK(km_node_metrics_usage_at(m, 1, &s, &q));
    CHECK_STR(s, "memory");
    CHECK_ERROR(km_node_metrics_usage_at(m, 2, &s, &q), KM_STATUS_OUT_OF_RANGE, "index 2 is out of range (count 2)");
    CHECK_STR(s, "memory");
    CHECK_GET_STR(km_node_metrics_label, (m, "tier"), "a");
    CHECK_ERROR(km_node_metrics_label(m, "nope", &s), KM_STATUS_NOT_FOUND, "node node-a has no label \"nope\"");
    CHECK_ENTRIES(km_node_metrics_labels_count, km_node_metrics_label_at, m, 2, 1, const char *, "zone", CHECK_STR, "z1");
    const km_node_metrics *before_m = m;
    CHECK_STATUS(km_node_metrics_list_get(list, 2, &m), KM_STATUS_OUT_OF_RANGE);
    CHECK(m == before_m);
    km_node_metrics_list_free(list);

    /* A label selector. */
    list = NULL;
    CHECK_OK(km_client_list_node_metrics(client, "tier=a", &list));
    CHECK_INT(km_node_metrics_list_count(list), 1);
    CHECK_OK(km_node_metrics_list_get(list, 0, &m));
    CHECK_GET_STR(km_node_metrics_name, (m), "node-a");
    km_node_metrics_list_free(list);
    list = NULL;
    CHECK_OK(km_client_list_node_metrics(client, "tier=none", &list));
    CHECK_INT(km_node_metrics_list_count(list), 0);
    km_node_metrics_list_free(list);
    /* An invalid selector: the server's 400. */
    km_node_metrics_list *sentinel = (km_node_metrics_list *)&i64;
    list = sentinel;
    CHECK_STATUS(km_client_list_node_metrics(client, "a in (", &list), KM_STATUS_API);
    CHECK_INT(km_last_error_http_status(), 400);
    CHECK(list == sentinel);

    /* One node. */
    km_node_metrics *one = NULL;
    CHECK_OK(km_client_get_node_metrics(client, "node-b", &one));
    CHECK_GET_STR(km_node_metrics_name, (one), "node-b");
    CHECK_GET_QTY(km_node_metrics_usage, (one, "cpu"), "551516196n");
    CHECK_GET_QTY(km_node_metrics_usage, (one, "memory"), "13280692Ki");
    km_node_metrics_free(one);
    km_node_metrics *sentinel_one = (km_node_metrics *)&i64;
    one = sentinel_one;
    /* node-c exists but has no metrics: the server's 404. */
    CHECK_STATUS(km_client_get_node_metrics(client, "node-c", &one), KM_STATUS_NOT_FOUND);
    CHECK_INT(km_last_error_http_status(), 404);
    CHECK_MSG_CONTAINS("node-c");
    CHECK(one == sentinel_one);
    CHECK_STATUS(km_client_get_node_metrics(client, "no-such-node", &one), KM_STATUS_NOT_FOUND);
    CHECK_STATUS(km_client_get_node_metrics(client, "\xc3", &one), KM_STATUS_INVALID_UTF8);
    CHECK(one == sentinel_one);
}

static void test_pod_metrics(void) {
    int64_t i64 = 0;
    km_pod_metrics_list *list = NULL;
    const km_pod_metrics *m = NULL;
    const km_container_metrics *c = NULL;
    const char *s = NULL;
    const km_quantity *q = NULL;

    CHECK_OK(km_client_list_pod_metrics(client, NULL, NULL, NULL, &list));
    CHECK_INT(km_pod_metrics_list_count(list), 9);
    km_pod_metrics_list_free(list);
    list = NULL;
    CHECK_OK(km_client_list_pod_metrics(client, "kube-system", NULL, NULL, &list));
    CHECK_INT(km_pod_metrics_list_count(list), 3);
    CHECK_OK(km_pod_metrics_list_get(list, 0, &m));
    CHECK_GET_STR(km_pod_metrics_namespace, (m), "kube-system");
    CHECK_STATUS(km_pod_metrics_list_get(list, 3, &m), KM_STATUS_OUT_OF_RANGE);
    km_pod_metrics_list_free(list);
    list = NULL;
    CHECK_OK(km_client_list_pod_metrics(client, "default", "app=web", NULL, &list));
    CHECK_INT(km_pod_metrics_list_count(list), 2);
    km_pod_metrics_list_free(list);
    list = NULL;
    CHECK_OK(km_client_list_pod_metrics(client, NULL, NULL, "metadata.name=batch-1", &list));
    CHECK_INT(km_pod_metrics_list_count(list), 1);
    CHECK_OK(km_pod_metrics_list_get(list, 0, &m));
    CHECK_GET_STR(km_pod_metrics_name, (m), "batch-1");
    /* An item of a list: its strings, labels and containers sit in the list's storage. */
    CHECK_GET_STR(km_pod_metrics_namespace, (m), "default");
    CHECK_GET_STR(km_pod_metrics_timestamp, (m), "2024-01-01T00:09:50Z");
    CHECK_GET_STR(km_pod_metrics_label, (m, "app"), "batch");
    CHECK_INT(km_pod_metrics_containers_count(m), 3);
    CHECK_OK(km_pod_metrics_container(m, 2, &c));
    CHECK_STATUS(km_pod_metrics_container(m, 3, &c), KM_STATUS_OUT_OF_RANGE);
    CHECK_OK(km_pod_metrics_container(m, 0, &c));
    CHECK_GET_STR(km_container_metrics_name, (c), "worker");
    CHECK_GET_QTY(km_container_metrics_usage, (c, "cpu"), "2");
    CHECK_ERROR(km_container_metrics_usage(c, "swap", &q), KM_STATUS_NOT_FOUND,
                "container worker of pod default/batch-1 reports no usage of \"swap\"");
    km_pod_metrics_list_free(list);
    list = NULL;
    CHECK_OK(km_client_list_pod_metrics(client, "no-such-namespace", NULL, NULL, &list));
    CHECK_INT(km_pod_metrics_list_count(list), 0);
    km_pod_metrics_list_free(list);
    km_pod_metrics_list *sentinel = (km_pod_metrics_list *)&i64;
    list = sentinel;
    CHECK_STATUS(km_client_list_pod_metrics(client, NULL, NULL, "spec.nodeName=x", &list), KM_STATUS_API);
    CHECK_INT(km_last_error_http_status(), 400);
    CHECK_STATUS(km_client_list_pod_metrics(client, "\xff", NULL, NULL, &list), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_list_pod_metrics(client, NULL, "\xff", NULL, &list), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_list_pod_metrics(client, NULL, NULL, "\xff", &list), KM_STATUS_INVALID_UTF8);
    CHECK(list == sentinel);

    /* One pod with three containers. */
    km_pod_metrics *pod = NULL;
    CHECK_OK(km_client_get_pod_metrics(client, "default", "batch-1", &pod));
    CHECK_GET_STR(km_pod_metrics_name, (pod), "batch-1");
    CHECK_GET_STR(km_pod_metrics_namespace, (pod), "default");
    CHECK_GET_STR(km_pod_metrics_timestamp, (pod), "2024-01-01T00:09:50Z");
    CHECK_GET_INT(km_pod_metrics_timestamp_unix, (pod), 1704067790);
    CHECK_GET_INT(km_pod_metrics_window_ms, (pod), 14982);
    CHECK_GET_STR(km_pod_metrics_label, (pod, "app"), "batch");
    CHECK_ERROR(km_pod_metrics_label(pod, "tier", &s), KM_STATUS_NOT_FOUND,
                "pod default/batch-1 has no label \"tier\"");
    CHECK_ENTRIES(km_pod_metrics_labels_count, km_pod_metrics_label_at, pod, 1, 0, const char *, "app", CHECK_STR, "batch");
    km_quantity *total = NULL;
    CHECK_OK(km_pod_metrics_total(pod, "cpu", &total));
    CHECK_QTY(total, "2500m");
    km_quantity_free(total);
    total = NULL;
    CHECK_OK(km_pod_metrics_total(pod, "memory", &total));
    CHECK_OK(km_quantity_value(total, &i64));
    CHECK_INT(i64, 12000000LL + 1073741824LL);
    km_quantity_free(total);
    total = NULL;
    CHECK_OK(km_pod_metrics_total(pod, "gpu", &total));
    CHECK_QTY(total, "0");
    km_quantity_free(total);

    CHECK_INT(km_pod_metrics_containers_count(pod), 3);
    CHECK_OK(km_pod_metrics_container(pod, 0, &c));
    CHECK_GET_STR(km_container_metrics_name, (c), "worker");
    CHECK_GET_QTY(km_container_metrics_usage, (c, "cpu"), "2");
    CHECK_GET_QTY(km_container_metrics_usage, (c, "memory"), "12e6");
    CHECK_ERROR(km_container_metrics_usage(c, "swap", &q), KM_STATUS_NOT_FOUND,
                "container worker of pod default/batch-1 reports no usage of \"swap\"");
    CHECK_ENTRIES(km_container_metrics_usage_count, km_container_metrics_usage_at, c, 2, 1, const km_quantity *, "memory", CHECK_QTY, "12e6");
    CHECK_OK(km_pod_metrics_container(pod, 1, &c));
    CHECK_GET_STR(km_container_metrics_name, (c), "helper");
    CHECK_GET_QTY(km_container_metrics_usage, (c, "memory"), "1Gi");
    CHECK_STATUS(km_pod_metrics_container(pod, 3, &c), KM_STATUS_OUT_OF_RANGE);
    km_pod_metrics_free(pod);

    km_pod_metrics *sentinel_pod = (km_pod_metrics *)&i64;
    pod = sentinel_pod;
    CHECK_STATUS(km_client_get_pod_metrics(client, "default", "no-such-pod", &pod), KM_STATUS_NOT_FOUND);
    CHECK_INT(km_last_error_http_status(), 404);
    CHECK_MSG_CONTAINS("no-such-pod");
    CHECK_STATUS(km_client_get_pod_metrics(client, "\xff", "x", &pod), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_get_pod_metrics(client, "default", "\xff", &pod), KM_STATUS_INVALID_UTF8);
    CHECK(pod == sentinel_pod);
}

static const char *row_name(const km_top_node_rows *rows, size_t i) {
    const km_top_node_row *row = NULL;
    const char *name = NULL;
    if (km_top_node_rows_get(rows, i, &row) != KM_STATUS_OK) return "(error)";
    if (km_top_node_row_name(row, &name) != KM_STATUS_OK) return "(error)";
    return name;
}

static void test_top_nodes(void) {
    km_top_node_rows *rows = NULL;
    const km_top_node_row *row = NULL;
    const km_quantity *q = NULL;
    bool has = true, metrics = false;
    int64_t pct = -1;
    char *table = NULL;

    CHECK_OK(km_client_top_nodes(client, NULL, NULL, false, NULL, &rows));
    CHECK_INT(km_top_node_rows_count(rows), 3);
    CHECK_STR(row_name(rows, 0), "node-a");
    CHECK_STR(row_name(rows, 1), "node-b");
    CHECK_STR(row_name(rows, 2), "node-c");
    CHECK_OK(km_top_node_rows_get(rows, 0, &row));
    CHECK_OK(km_top_node_row_has_metrics(row, &metrics));
    CHECK(metrics);
    CHECK_GET_QTY(km_top_node_row_cpu, (row), "1630534153n");
    CHECK_GET_QTY(km_top_node_row_memory, (row), "8318172Ki");
    CHECK_GET_QTY(km_top_node_row_cpu_available, (row), "3920m");
    CHECK_GET_QTY(km_top_node_row_memory_available, (row), "15Gi");
    CHECK_OK(km_top_node_row_cpu_percent(row, &has, &pct));
    CHECK(has);
    CHECK_INT(pct, 41); /* 1631m / 3920m */
    CHECK_OK(km_top_node_row_memory_percent(row, &has, &pct));
    CHECK(has);
    CHECK_INT(pct, 52); /* 8318172Ki / 15Gi */
    /* node-c: kubectl's <unknown> row. */
    CHECK_OK(km_top_node_rows_get(rows, 2, &row));
    CHECK_OK(km_top_node_row_has_metrics(row, &metrics));
    CHECK(!metrics);
    q = (const km_quantity *)&pct;
    CHECK_OK(km_top_node_row_cpu(row, &q));
    CHECK(q == NULL);
    q = (const km_quantity *)&pct;
    CHECK_OK(km_top_node_row_memory(row, &q));
    CHECK(q == NULL);
    CHECK_GET_QTY(km_top_node_row_cpu_available, (row), "8");
    CHECK_GET_QTY(km_top_node_row_memory_available, (row), "32Gi");
    pct = 99;
    CHECK_OK(km_top_node_row_cpu_percent(row, &has, &pct));
    CHECK(!has);
    CHECK_INT(pct, 0);
    has = true;
    CHECK_OK(km_top_node_row_memory_percent(row, &has, &pct));
    CHECK(!has);
    CHECK_STATUS(km_top_node_rows_get(rows, 3, &row), KM_STATUS_OUT_OF_RANGE);
    CHECK_OK(km_top_node_rows_render(rows, false, &table));
    CHECK_CONTAINS(table, "NAME     CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)   \n");
    CHECK_CONTAINS(table, "node-a   1631m        41%         8123Mi          52%         \n");
    CHECK_CONTAINS(table, "node-c   <unknown>    <unknown>   <unknown>       <unknown>   \n");
    km_string_free(table);
    table = NULL;
    CHECK_OK(km_top_node_rows_render(rows, true, &table));
    CHECK(table != NULL && strncmp(table, "node-a", 6) == 0);
    km_string_free(table);
    km_top_node_rows_free(rows);

    /* --sort-by, --show-capacity, -l, NAME. */
    rows = NULL;
    CHECK_OK(km_client_top_nodes(client, NULL, NULL, false, "memory", &rows));
    CHECK_STR(row_name(rows, 0), "node-b");
    km_top_node_rows_free(rows);
    rows = NULL;
    CHECK_OK(km_client_top_nodes(client, NULL, NULL, false, "cpu", &rows));
    CHECK_STR(row_name(rows, 0), "node-a");
    km_top_node_rows_free(rows);
    rows = NULL;
    CHECK_OK(km_client_top_nodes(client, NULL, NULL, true, "", &rows));
    CHECK_OK(km_top_node_rows_get(rows, 0, &row));
    CHECK_GET_QTY(km_top_node_row_cpu_available, (row), "4");
    CHECK_OK(km_top_node_row_cpu_percent(row, &has, &pct));
    CHECK_INT(pct, 40); /* 1631m / 4 */
    km_top_node_rows_free(rows);
    rows = NULL;
    CHECK_OK(km_client_top_nodes(client, NULL, "tier=a", false, "name", &rows));
    CHECK_INT(km_top_node_rows_count(rows), 2);
    CHECK_STR(row_name(rows, 0), "node-a");
    CHECK_STR(row_name(rows, 1), "node-c");
    km_top_node_rows_free(rows);
    rows = NULL;
    CHECK_OK(km_client_top_nodes(client, "node-b", NULL, false, NULL, &rows));
    CHECK_INT(km_top_node_rows_count(rows), 1);
    CHECK_STR(row_name(rows, 0), "node-b");
    km_top_node_rows_free(rows);

    km_top_node_rows *sentinel = (km_top_node_rows *)&pct;
    rows = sentinel;
    CHECK_STATUS(km_client_top_nodes(client, "no-such-node", NULL, false, NULL, &rows), KM_STATUS_NOT_FOUND);
    CHECK_INT(km_last_error_http_status(), 404);
    CHECK_ERROR(km_client_top_nodes(client, NULL, "tier=none", false, NULL, &rows), KM_STATUS_METRICS_UNAVAILABLE,
                "metrics not available yet");
    CHECK_ERROR(km_client_top_nodes(client, NULL, NULL, false, "disk", &rows), KM_STATUS_CONFIG,
                "--sort-by accepts only cpu or memory");
    CHECK_STATUS(km_client_top_nodes(client, "\xff", NULL, false, NULL, &rows), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_top_nodes(client, NULL, "\xff", false, NULL, &rows), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_top_nodes(client, NULL, NULL, false, "\xff", &rows), KM_STATUS_INVALID_UTF8);
    CHECK(rows == sentinel);
}

static void test_top_pods(void) {
    km_top_pods *top = NULL;
    const km_top_pod_row *row = NULL;
    const km_top_container_row *c = NULL;
    const km_quantity *q = NULL;
    const char *s = NULL;
    char *table = NULL;
    int64_t i64 = 0;

    /* The client's default namespace. */
    CHECK_OK(km_client_top_pods(client, NULL, false, NULL, NULL, NULL, NULL, &top));
    CHECK_INT(km_top_pods_count(top), 4);
    CHECK_GET_STR(km_top_pods_namespace, (top), "default");
    CHECK_OK(km_top_pods_get(top, 0, &row));
    CHECK_GET_STR(km_top_pod_row_name, (row), "batch-1");
    CHECK_GET_STR(km_top_pod_row_namespace, (row), "default");
    CHECK_GET_QTY(km_top_pod_row_cpu, (row), "2500m");
    CHECK_OK(km_top_pod_row_memory(row, &q));
    CHECK_GET_INT(km_quantity_value, (q), 1085741824);
    CHECK_INT(km_top_pod_row_containers_count(row), 3);
    /* Containers by name. */
    CHECK_OK(km_top_pod_row_container(row, 0, &c));
    CHECK_GET_STR(km_top_container_row_name, (c), "helper");
    CHECK_GET_QTY(km_top_container_row_cpu, (c), "500m");
    CHECK_GET_QTY(km_top_container_row_memory, (c), "1Gi");
    CHECK_OK(km_top_pod_row_container(row, 2, &c));
    CHECK_GET_STR(km_top_container_row_name, (c), "worker");
    CHECK_STATUS(km_top_pod_row_container(row, 3, &c), KM_STATUS_OUT_OF_RANGE);
    CHECK_OK(km_top_pods_get(top, 3, &row));
    CHECK_GET_STR(km_top_pod_row_name, (row), "web-7f9c-fghij");
    CHECK_STATUS(km_top_pods_get(top, 4, &row), KM_STATUS_OUT_OF_RANGE);
    CHECK_OK(km_top_pods_total_cpu(top, &q));
    CHECK_OK(km_quantity_milli_value(q, &i64));
    CHECK_INT(i64, 4254); /* 2.5 + 0.250264852 + (0.000969654 + 0.001) + 1.501, rounded up once */
    CHECK_OK(km_top_pods_total_memory(top, &q));
    CHECK(q != NULL);
    CHECK_OK(km_top_pods_render(top, false, false, false, &table));
    CHECK_CONTAINS(table, "NAME                 CPU(cores)   MEMORY(bytes)   \n");
    CHECK_CONTAINS(table, "batch-1              2500m        1035Mi          \n");
    km_string_free(table);
    table = NULL;
    CHECK_OK(km_top_pods_render(top, true, true, true, &table));
    CHECK_CONTAINS(table, "batch-1");
    CHECK_CONTAINS(table, "helper");
    CHECK_CONTAINS(table, "________");
    CHECK(strncmp(table, "NAME", 4) != 0);
    km_string_free(table);
    km_top_pods_free(top);

    /* -A, --sort-by cpu. */
    top = NULL;
    CHECK_OK(km_client_top_pods(client, NULL, true, NULL, NULL, NULL, "cpu", &top));
    CHECK_INT(km_top_pods_count(top), 9);
    s = "sentinel";
    CHECK_OK(km_top_pods_namespace(top, &s));
    CHECK(s == NULL);
    CHECK_OK(km_top_pods_get(top, 0, &row));
    CHECK_GET_STR(km_top_pod_row_name, (row), "batch-1");
    CHECK_OK(km_top_pods_get(top, 1, &row));
    CHECK_GET_STR(km_top_pod_row_name, (row), "web-7f9c-fghij");
    CHECK_OK(km_top_pod_row_container(row, 0, &c)); /* containers by CPU too */
    CHECK_GET_STR(km_top_container_row_name, (c), "nginx");
    CHECK_OK(km_top_pods_render(top, false, false, true, &table));
    CHECK_CONTAINS(table, "NAMESPACE");
    km_string_free(table);
    km_top_pods_free(top);

    /* -n, NAME, -l, --field-selector. */
    top = NULL;
    CHECK_OK(km_client_top_pods(client, "kube-system", false, NULL, NULL, NULL, "memory", &top));
    CHECK_INT(km_top_pods_count(top), 3);
    CHECK_OK(km_top_pods_get(top, 0, &row));
    CHECK_GET_STR(km_top_pod_row_name, (row), "kube-apiserver-node-a");
    km_top_pods_free(top);
    top = NULL;
    CHECK_OK(km_client_top_pods(client, "monitoring", false, "prometheus-0", NULL, NULL, NULL, &top));
    CHECK_INT(km_top_pods_count(top), 1);
    km_top_pods_free(top);
    top = NULL;
    CHECK_OK(km_client_top_pods(client, NULL, true, NULL, "app=web", NULL, NULL, &top));
    CHECK_INT(km_top_pods_count(top), 2);
    km_top_pods_free(top);
    top = NULL;
    CHECK_OK(km_client_top_pods(client, NULL, true, NULL, NULL, "metadata.namespace=monitoring", NULL, &top));
    CHECK_INT(km_top_pods_count(top), 2);
    km_top_pods_free(top);
    /* No pod matches at all: an empty result, an empty table. */
    top = NULL;
    CHECK_OK(km_client_top_pods(client, NULL, true, NULL, "app=nothing", NULL, NULL, &top));
    CHECK_INT(km_top_pods_count(top), 0);
    CHECK_OK(km_top_pods_render(top, false, false, false, &table));
    CHECK_STR(table, "");
    km_string_free(table);
    km_top_pods_free(top);

    km_top_pods *sentinel = (km_top_pods *)&i64;
    top = sentinel;
    CHECK_ERROR(km_client_top_pods(client, NULL, false, "batch-1", "app=batch", NULL, NULL, &top), KM_STATUS_CONFIG,
                "only one of NAME or selector can be provided");
    CHECK_STATUS(km_client_top_pods(client, NULL, false, NULL, NULL, NULL, "size", &top), KM_STATUS_CONFIG);
    CHECK_STATUS(km_client_top_pods(client, "default", false, "no-such-pod", NULL, NULL, NULL, &top), KM_STATUS_NOT_FOUND);
    CHECK_INT(km_last_error_http_status(), 404);
    CHECK_STATUS(km_client_top_pods(client, "\xff", false, NULL, NULL, NULL, NULL, &top), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_top_pods(client, NULL, false, "\xff", NULL, NULL, NULL, &top), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_top_pods(client, NULL, false, NULL, "\xff", NULL, NULL, &top), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_top_pods(client, NULL, false, NULL, NULL, "\xff", NULL, &top), KM_STATUS_INVALID_UTF8);
    CHECK_STATUS(km_client_top_pods(client, NULL, false, NULL, NULL, NULL, "\xff", &top), KM_STATUS_INVALID_UTF8);
    CHECK(top == sentinel);
}

/* Every row of `top pod -A` (kubectl's name order) read through the accessors is the line the
 * table renders for it, and each row's CPU and memory are the exact sums of its containers'. */
static void test_top_pods_rows_are_the_table(void) {
    km_top_pods *top = NULL;
    char *table = NULL;
    CHECK_OK(km_client_top_pods(client, NULL, true, NULL, NULL, NULL, NULL, &top));
    CHECK_INT(km_top_pods_count(top), 9);
    CHECK_OK(km_top_pods_render(top, false, true, false, &table));
    const char *line = table;
    for (size_t i = 0; i < km_top_pods_count(top); i++) {
        const km_top_pod_row *row = NULL;
        const char *ns = NULL, *name = NULL;
        const km_quantity *cpu = NULL, *memory = NULL;
        int64_t milli = 0, bytes = 0;
        CHECK_OK(km_top_pods_get(top, i, &row));
        CHECK_OK(km_top_pod_row_namespace(row, &ns));
        CHECK_OK(km_top_pod_row_name(row, &name));
        CHECK_OK(km_top_pod_row_cpu(row, &cpu));
        CHECK_OK(km_top_pod_row_memory(row, &memory));
        CHECK_OK(km_quantity_milli_value(cpu, &milli));
        CHECK_OK(km_quantity_value(memory, &bytes));
        char want[512], got[512];
        snprintf(want, sizeof want, "%s %s %lldm %lldMi", ns, name, (long long)milli, (long long)(bytes / (1024 * 1024)));
        size_t n = 0;
        for (; *line != '\0' && *line != '\n' && n + 1 < sizeof got; line++) {
            if (*line != ' ' || (n > 0 && got[n - 1] != ' ')) got[n++] = *line;
        }
        while (n > 0 && got[n - 1] == ' ') n--;
        got[n] = '\0';
        CHECK_STR(got, want);
        line += *line == '\n';
        /* Containers: their sums are the row's, exactly. */
        km_quantity *cpu_sum = NULL, *memory_sum = NULL, *next = NULL;
        CHECK_OK(km_quantity_parse("0", &cpu_sum));
        CHECK_OK(km_quantity_parse("0", &memory_sum));
        for (size_t j = 0; j < km_top_pod_row_containers_count(row); j++) {
            const km_top_container_row *c = NULL;
            const km_quantity *part = NULL;
            CHECK_OK(km_top_pod_row_container(row, j, &c));
            CHECK_OK(km_top_container_row_cpu(c, &part));
            CHECK_OK(km_quantity_add(cpu_sum, part, &next));
            km_quantity_free(cpu_sum);
            cpu_sum = next;
            CHECK_OK(km_top_container_row_memory(c, &part));
            CHECK_OK(km_quantity_add(memory_sum, part, &next));
            km_quantity_free(memory_sum);
            memory_sum = next;
        }
        int cmp = 1;
        CHECK_OK(km_quantity_cmp(cpu_sum, cpu, &cmp));
        CHECK_INT(cmp, 0);
        CHECK_OK(km_quantity_cmp(memory_sum, memory, &cmp));
        CHECK_INT(cmp, 0);
        km_quantity_free(cpu_sum);
        km_quantity_free(memory_sum);
    }
    CHECK_STR(line, "");
    /* The first and last rows of kubectl's order, exactly. */
    const km_top_pod_row *row = NULL;
    CHECK_OK(km_top_pods_get(top, 0, &row));
    CHECK_GET_STR(km_top_pod_row_namespace, (row), "default");
    CHECK_GET_STR(km_top_pod_row_name, (row), "batch-1");
    CHECK_GET_QTY(km_top_pod_row_cpu, (row), "2500m");
    CHECK_OK(km_top_pods_get(top, 8, &row));
    CHECK_STATUS(km_top_pods_get(top, 9, &row), KM_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(km_top_pods_get(top, (size_t)-1, &row), KM_STATUS_OUT_OF_RANGE);
    km_string_free(table);
    km_top_pods_free(top);
}

static void test_raw(void) {
    char *body = NULL;
    CHECK_OK(km_client_get_raw(client, "/apis/metrics.k8s.io/v1beta1/nodes", &body));
    CHECK_CONTAINS(body, "{\"kind\":\"NodeMetricsList\",\"apiVersion\":\"metrics.k8s.io/v1beta1\"");
    CHECK_CONTAINS(body, "\"cpu\":\"1630534153n\"");
    km_string_free(body);
    body = NULL;
    CHECK_OK(km_client_get_raw(client, "/version", &body));
    CHECK_CONTAINS(body, "v1.33.0");
    km_string_free(body);
    char *sentinel = (char *)"sentinel";
    body = sentinel;
    CHECK_STATUS(km_client_get_raw(client, "/no/such/path", &body), KM_STATUS_NOT_FOUND);
    CHECK_INT(km_last_error_http_status(), 404);
    /* A path that is no URI: the request cannot even be built. */
    CHECK_STATUS(km_client_get_raw(client, "/a b", &body), KM_STATUS_INTERNAL);
    CHECK_STATUS(km_client_get_raw(client, "/\xff", &body), KM_STATUS_INVALID_UTF8);
    CHECK(body == sentinel);
}

/* Faults switched on the server: every status a server can cause. */
static void test_server_faults(void) {
    km_node_metrics_list *sentinel = (km_node_metrics_list *)&client, *list = sentinel;
    char *body = NULL;

    CONTROL("/_loopback/fault/unauthorized");
    CHECK_STATUS(km_client_list_node_metrics(client, NULL, &list), KM_STATUS_AUTH);
    CHECK_INT(km_last_error_http_status(), 401);
    CHECK_MSG_CONTAINS("Unauthorized");
    CHECK_STATUS(km_client_get_raw(client, "/version", &body), KM_STATUS_AUTH);
    CHECK_INT(km_last_error_http_status(), 401);

    CONTROL("/_loopback/fault/forbidden");
    CHECK_STATUS(km_client_list_node_metrics(client, NULL, &list), KM_STATUS_AUTH);
    CHECK_INT(km_last_error_http_status(), 403);
    CHECK_MSG_CONTAINS("forbidden");

    CONTROL("/_loopback/fault/internal-error");
    CHECK_STATUS(km_client_list_node_metrics(client, NULL, &list), KM_STATUS_API);
    CHECK_INT(km_last_error_http_status(), 500);
    CHECK_MSG_CONTAINS("simulated failure");
    km_top_pods *top_sentinel = (km_top_pods *)&client, *top = top_sentinel;
    CHECK_STATUS(km_client_top_pods(client, NULL, true, NULL, NULL, NULL, NULL, &top), KM_STATUS_API);
    CHECK(top == top_sentinel);

    CONTROL("/_loopback/fault/malformed-json");
    CHECK_STATUS(km_client_list_node_metrics(client, NULL, &list), KM_STATUS_API);
    CHECK_INT(km_last_error_http_status(), 0);
    CHECK_MSG_CONTAINS("cannot decode");

    CONTROL("/_loopback/fault/hang");
    CHECK_OK(km_client_set_timeout_ms(client, 300));
    CHECK_ERROR(km_client_list_node_metrics(client, NULL, &list), KM_STATUS_IO, "no answer");
    CHECK_INT(km_last_error_http_status(), 0);
    CHECK_OK(km_client_set_timeout_ms(client, 30000));
    CHECK(list == sentinel);

    CONTROL("/_loopback/fault/none");
    CHECK_OK(km_client_list_node_metrics(client, NULL, &list));
    CHECK_INT(km_node_metrics_list_count(list), 2);
    km_node_metrics_list_free(list);
    list = sentinel;

    /* No Metrics API: a new client (a client remembers the version it discovered). */
    CONTROL("/_loopback/metrics-api/off");
    km_client *fresh = NULL;
    CHECK_OK(km_client_new(kubeconfig, NULL, &fresh));
    CHECK_ERROR(km_client_list_node_metrics(fresh, NULL, &list), KM_STATUS_METRICS_UNAVAILABLE,
                "Metrics API not available");
    km_pod_metrics_list *plist = NULL;
    CHECK_STATUS(km_client_list_pod_metrics(fresh, NULL, NULL, NULL, &plist), KM_STATUS_METRICS_UNAVAILABLE);
    km_top_node_rows *rows = NULL;
    CHECK_STATUS(km_client_top_nodes(fresh, NULL, NULL, false, NULL, &rows), KM_STATUS_METRICS_UNAVAILABLE);
    CHECK_STATUS(km_client_top_pods(fresh, NULL, true, NULL, NULL, NULL, NULL, &top), KM_STATUS_METRICS_UNAVAILABLE);
    km_node_metrics *one = NULL;
    CHECK_STATUS(km_client_get_node_metrics(fresh, "node-a", &one), KM_STATUS_METRICS_UNAVAILABLE);
    km_pod_metrics *pod = NULL;
    CHECK_STATUS(km_client_get_pod_metrics(fresh, "default", "batch-1", &pod), KM_STATUS_METRICS_UNAVAILABLE);
    CHECK(plist == NULL && rows == NULL && one == NULL && pod == NULL && list == sentinel);
    km_client_free(fresh);
    CONTROL("/_loopback/metrics-api/on");
}

/* KM_STATUS_IO: nothing listens at the server's address. */
static void test_connection_refused(void) {
    char path[] = "/tmp/kubemetrics-c-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char *config =
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\n"
        "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
        "users:\n- name: u\n  user:\n    token: t\n";
    CHECK(write(fd, config, strlen(config)) == (ssize_t)strlen(config));
    close(fd);
    km_client *c = NULL;
    CHECK_OK(km_client_new(path, NULL, &c));
    km_node_metrics_list *list = NULL;
    CHECK_ERROR(km_client_list_node_metrics(c, NULL, &list), KM_STATUS_IO, "127.0.0.1:1");
    CHECK_INT(km_last_error_http_status(), 0);
    CHECK(list == NULL);
    km_client_free(c);
    unlink(path);
}

/* The NULL checks of the accessors node and pod metrics both have (km_node_metrics_name and
 * km_pod_metrics_name, ...): `kind` is node or pod, `m` a valid handle of that kind. */
#define CHECK_NULL_METRICS_ACCESSORS(kind, m)                                                     \
    do {                                                                                          \
        const char *str_ = NULL, *key_ = NULL;                                                    \
        int64_t int_ = 0;                                                                         \
        CHECK_NULL_GETTER(km_##kind##_metrics_name, m, "metrics", &str_);                         \
        CHECK_NULL_GETTER(km_##kind##_metrics_timestamp, m, "metrics", &str_);                    \
        CHECK_NULL_GETTER(km_##kind##_metrics_timestamp_unix, m, "metrics", &int_);               \
        CHECK_NULL_GETTER(km_##kind##_metrics_window_ms, m, "metrics", &int_);                    \
        CHECK_NULL_LOOKUP(km_##kind##_metrics_label, m, "metrics", "app", "key", &str_);          \
        CHECK_INT(km_##kind##_metrics_labels_count(NULL), 0);                                     \
        CHECK_NULL_INDEXED_PAIR(km_##kind##_metrics_label_at, m, "metrics", &key_, "key_out",     \
                                &str_, "value_out");                                              \
        CHECK(str_ == NULL && key_ == NULL && int_ == 0);                                         \
    } while (0)

/* The accessor types that several top row accessors share (for CHECK_NULL_GETTERS). */
typedef km_status (*node_row_quantity)(const km_top_node_row *, const km_quantity **);
typedef km_status (*pod_row_quantity)(const km_top_pod_row *, const km_quantity **);
typedef km_status (*container_row_quantity)(const km_top_container_row *, const km_quantity **);

static void test_null_arguments(void) {
    km_client *c = NULL;
    const char *s = NULL;
    char *owned = NULL;
    const km_quantity *q = NULL;
    km_quantity *oq = NULL;
    int64_t i64 = 0;
    bool b = false;

    CHECK_NULL_ARG(km_client_new(kubeconfig, NULL, NULL), "out");
    CHECK_NULL_ARG(km_client_set_timeout_ms(NULL, 1), "client");
    CHECK_NULL_ARG(km_client_default_namespace(NULL, &s), "client");
    CHECK_NULL_ARG(km_client_default_namespace(client, NULL), "out");
    CHECK_NULL_ARG(km_client_get_raw(NULL, "/version", &owned), "client");
    CHECK_NULL_ARG(km_client_get_raw(client, NULL, &owned), "path");
    CHECK_NULL_ARG(km_client_get_raw(client, "/version", NULL), "out");

    km_node_metrics_list *nlist = NULL;
    km_node_metrics *node = NULL;
    CHECK_NULL_ARG(km_client_list_node_metrics(NULL, NULL, &nlist), "client");
    CHECK_NULL_ARG(km_client_list_node_metrics(client, NULL, NULL), "out");
    CHECK_NULL_ARG(km_client_get_node_metrics(NULL, "node-a", &node), "client");
    CHECK_NULL_ARG(km_client_get_node_metrics(client, NULL, &node), "name");
    CHECK_NULL_ARG(km_client_get_node_metrics(client, "node-a", NULL), "out");
    km_pod_metrics_list *plist = NULL;
    km_pod_metrics *pod = NULL;
    CHECK_NULL_ARG(km_client_list_pod_metrics(NULL, NULL, NULL, NULL, &plist), "client");
    CHECK_NULL_ARG(km_client_list_pod_metrics(client, NULL, NULL, NULL, NULL), "out");
    CHECK_NULL_ARG(km_client_get_pod_metrics(NULL, "default", "batch-1", &pod), "client");
    CHECK_NULL_ARG(km_client_get_pod_metrics(client, NULL, "batch-1", &pod), "namespace");
    CHECK_NULL_ARG(km_client_get_pod_metrics(client, "default", NULL, &pod), "name");
    CHECK_NULL_ARG(km_client_get_pod_metrics(client, "default", "batch-1", NULL), "out");
    km_top_node_rows *rows = NULL;
    km_top_pods *top = NULL;
    CHECK_NULL_ARG(km_client_top_nodes(NULL, NULL, NULL, false, NULL, &rows), "client");
    CHECK_NULL_ARG(km_client_top_nodes(client, NULL, NULL, false, NULL, NULL), "out");
    CHECK_NULL_ARG(km_client_top_pods(NULL, NULL, false, NULL, NULL, NULL, NULL, &top), "client");
    CHECK_NULL_ARG(km_client_top_pods(client, NULL, false, NULL, NULL, NULL, NULL, NULL), "out");
    CHECK(c == NULL && s == NULL && owned == NULL && nlist == NULL && node == NULL && plist == NULL && pod == NULL &&
          rows == NULL && top == NULL);

    /* Node metrics accessors. */
    CHECK_OK(km_client_list_node_metrics(client, NULL, &nlist));
    const km_node_metrics *m = NULL;
    CHECK_INT(km_node_metrics_list_count(NULL), 0);
    CHECK_NULL_INDEXED(km_node_metrics_list_get, nlist, "list", &m);
    CHECK_OK(km_node_metrics_list_get(nlist, 0, &m));
    CHECK_NULL_METRICS_ACCESSORS(node, m);
    CHECK_NULL_LOOKUP(km_node_metrics_usage, m, "metrics", "cpu", "resource", &q);
    CHECK_INT(km_node_metrics_usage_count(NULL), 0);
    CHECK_NULL_INDEXED_PAIR(km_node_metrics_usage_at, m, "metrics", &s, "resource_out", &q, "quantity_out");
    km_node_metrics_list_free(nlist);

    /* Pod metrics accessors. */
    CHECK_OK(km_client_list_pod_metrics(client, NULL, NULL, NULL, &plist));
    const km_pod_metrics *pm = NULL;
    CHECK_INT(km_pod_metrics_list_count(NULL), 0);
    CHECK_NULL_INDEXED(km_pod_metrics_list_get, plist, "list", &pm);
    km_pod_metrics_list_free(plist);
    CHECK_OK(km_client_get_pod_metrics(client, "default", "batch-1", &pod));
    pm = pod;
    CHECK_NULL_METRICS_ACCESSORS(pod, pm);
    CHECK_NULL_GETTER(km_pod_metrics_namespace, pm, "metrics", &s);
    CHECK_NULL_LOOKUP(km_pod_metrics_total, pm, "metrics", "cpu", "resource", &oq);
    const km_container_metrics *cm = NULL;
    CHECK_INT(km_pod_metrics_containers_count(NULL), 0);
    CHECK_NULL_INDEXED(km_pod_metrics_container, pm, "metrics", &cm);
    CHECK_OK(km_pod_metrics_container(pm, 0, &cm));
    CHECK_NULL_GETTER(km_container_metrics_name, cm, "container", &s);
    CHECK_NULL_LOOKUP(km_container_metrics_usage, cm, "container", "cpu", "resource", &q);
    CHECK_INT(km_container_metrics_usage_count(NULL), 0);
    CHECK_NULL_INDEXED_PAIR(km_container_metrics_usage_at, cm, "container", &s, "resource_out", &q, "quantity_out");
    CHECK(oq == NULL);
    km_pod_metrics_free(pod);

    /* Top node rows. */
    CHECK_OK(km_client_top_nodes(client, NULL, NULL, false, NULL, &rows));
    const km_top_node_row *row = NULL;
    CHECK_INT(km_top_node_rows_count(NULL), 0);
    CHECK_NULL_INDEXED(km_top_node_rows_get, rows, "rows", &row);
    CHECK_NULL_ARG(km_top_node_rows_render(NULL, false, &owned), "rows");
    CHECK_NULL_ARG(km_top_node_rows_render(rows, false, NULL), "out");
    CHECK_OK(km_top_node_rows_get(rows, 0, &row));
    CHECK_NULL_GETTER(km_top_node_row_name, row, "row", &s);
    CHECK_NULL_GETTER(km_top_node_row_has_metrics, row, "row", &b);
    CHECK_NULL_GETTERS(node_row_quantity, row, "row", &q, km_top_node_row_cpu, km_top_node_row_memory, km_top_node_row_cpu_available,
                       km_top_node_row_memory_available);
    CHECK_NULL_3(km_top_node_row_cpu_percent, row, "row", &b, "has_value", &i64, "out");
    CHECK_NULL_3(km_top_node_row_memory_percent, row, "row", &b, "has_value", &i64, "out");
    km_top_node_rows_free(rows);

    /* Top pods. */
    CHECK_OK(km_client_top_pods(client, NULL, false, NULL, NULL, NULL, NULL, &top));
    const km_top_pod_row *prow = NULL;
    const km_top_container_row *crow = NULL;
    CHECK_INT(km_top_pods_count(NULL), 0);
    CHECK_NULL_INDEXED(km_top_pods_get, top, "top", &prow);
    CHECK_NULL_GETTER(km_top_pods_total_cpu, top, "top", &q);
    CHECK_NULL_GETTER(km_top_pods_total_memory, top, "top", &q);
    CHECK_NULL_GETTER(km_top_pods_namespace, top, "top", &s);
    CHECK_NULL_ARG(km_top_pods_render(NULL, false, false, false, &owned), "top");
    CHECK_NULL_ARG(km_top_pods_render(top, false, false, false, NULL), "out");
    CHECK_OK(km_top_pods_get(top, 0, &prow));
    CHECK_NULL_GETTER(km_top_pod_row_namespace, prow, "row", &s);
    CHECK_NULL_GETTER(km_top_pod_row_name, prow, "row", &s);
    CHECK_NULL_GETTERS(pod_row_quantity, prow, "row", &q, km_top_pod_row_cpu, km_top_pod_row_memory);
    CHECK_INT(km_top_pod_row_containers_count(NULL), 0);
    CHECK_NULL_INDEXED(km_top_pod_row_container, prow, "row", &crow);
    CHECK_OK(km_top_pod_row_container(prow, 0, &crow));
    CHECK_NULL_GETTER(km_top_container_row_name, crow, "row", &s);
    CHECK_NULL_GETTERS(container_row_quantity, crow, "row", &q, km_top_container_row_cpu, km_top_container_row_memory);
    km_top_pods_free(top);
    CHECK(owned == NULL);

    /* Every _free accepts NULL. */
    km_client_free(NULL);
    km_node_metrics_list_free(NULL);
    km_node_metrics_free(NULL);
    km_pod_metrics_list_free(NULL);
    km_pod_metrics_free(NULL);
    km_top_node_rows_free(NULL);
    km_top_pods_free(NULL);
    CHECK(1);
}

/* km_shutdown stops the runtime; the next blocking call starts a new one. */
static void test_shutdown(void) {
    km_client *old = NULL;
    CHECK_OK(km_client_new(kubeconfig, NULL, &old));
    km_shutdown();
    km_shutdown(); /* no runtime: a no-op */
    /* A client made before km_shutdown fails, and can be freed. */
    km_node_metrics_list *list = NULL;
    km_status s = km_client_list_node_metrics(old, NULL, &list);
    CHECK(s != KM_STATUS_OK);
    CHECK(list == NULL);
    printf("a client made before km_shutdown: %s: %s\n", km_status_name(s), km_last_error_message());
    km_client_free(old);
    /* A new client works. */
    km_client *c = NULL;
    CHECK_OK(km_client_new(kubeconfig, NULL, &c));
    CHECK_OK(km_client_list_node_metrics(c, NULL, &list));
    CHECK_INT(km_node_metrics_list_count(list), 2);
    km_node_metrics_list_free(list);
    km_client_free(c);
}

int main(void) {
    kubeconfig = km_test_kubeconfig();
    test_client_new();
    if (client == NULL) return km_test_summary("test_client");
    test_node_metrics();
    test_pod_metrics();
    test_top_nodes();
    test_top_pods();
    test_top_pods_rows_are_the_table();
    test_raw();
    test_server_faults();
    test_connection_refused();
    test_null_arguments();
    km_client_free(client);
    test_shutdown();
    km_shutdown(); /* frees the runtime: valgrind sees no thread and no task left */
    return km_test_summary("test_client");
}
