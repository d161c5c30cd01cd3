/* The C binding against the real kube-apiserver (aggregator -> kubemetrics serve): prints
 *   1. `kubectl top node` as km_top_node_rows_render renders it,
 *   2. a line "----",
 *   3. `kubectl top pod -A --containers` as km_top_pods_render renders it,
 *   4. a line "----",
 *   5. one line "<namespace>/<pod>/<container> <cpu millicores> <memory bytes>" per container of
 *      km_client_list_pod_metrics (all namespaces).
 * Usage: top_through_apiserver KUBECONFIG. Exit status 1 with the error on stderr on any failure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "kubemetrics.h"

static void check(km_status status, const char *what) {
    if (status != KM_STATUS_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, km_status_name(status), km_last_error_message());
        exit(1);
    }
}

int main(int argc, char **argv) {
    km_client *client = NULL;
    km_top_node_rows *nodes = NULL;
    km_top_pods *pods = NULL;
    km_pod_metrics_list *list = NULL;
    char *text = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: %s KUBECONFIG\n", argv[0]);
        return 2;
    }
    check(km_client_new(argv[1], NULL, &client), "km_client_new");

    check(km_client_top_nodes(client, NULL, NULL, false, NULL, &nodes), "km_client_top_nodes");
    check(km_top_node_rows_render(nodes, false, &text), "km_top_node_rows_render");
    fputs(text, stdout);
    km_string_free(text);
    puts("----");

    check(km_client_top_pods(client, NULL, true, NULL, NULL, NULL, NULL, &pods), "km_client_top_pods");
    check(km_top_pods_render(pods, true, false, false, &text), "km_top_pods_render");
    fputs(text, stdout);
    km_string_free(text);
    puts("----");

    check(km_client_list_pod_metrics(client, NULL, NULL, NULL, &list), "km_client_list_pod_metrics");
    for (size_t i = 0; i < km_pod_metrics_list_count(list); i++) {
        const km_pod_metrics *pod = NULL;
        const char *ns = NULL, *name = NULL;
        check(km_pod_metrics_list_get(list, i, &pod), "km_pod_metrics_list_get");
        check(km_pod_metrics_namespace(pod, &ns), "km_pod_metrics_namespace");
        check(km_pod_metrics_name(pod, &name), "km_pod_metrics_name");
        for (size_t j = 0; j < km_pod_metrics_containers_count(pod); j++) {
            const km_container_metrics *c = NULL;
            const char *cname = NULL;
            const km_quantity *cpu = NULL, *memory = NULL;
            int64_t milli = 0, bytes = 0;
            check(km_pod_metrics_container(pod, j, &c), "km_pod_metrics_container");
            check(km_container_metrics_name(c, &cname), "km_container_metrics_name");
            check(km_container_metrics_usage(c, "cpu", &cpu), "km_container_metrics_usage cpu");
            check(km_container_metrics_usage(c, "memory", &memory), "km_container_metrics_usage memory");
            check(km_quantity_milli_value(cpu, &milli), "km_quantity_milli_value");
            check(km_quantity_value(memory, &bytes), "km_quantity_value");
            printf("%s/%s/%s %" PRId64 " %" PRId64 "\n", ns, name, cname, milli, bytes);
        }
    }
    km_pod_metrics_list_free(list);
    km_top_pods_free(pods);
    km_top_node_rows_free(nodes);
    km_client_free(client);
    return 0;
}
