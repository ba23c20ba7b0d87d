/* Application graphs: building, parsing and writing the text format, and the
 * ring all-reduce generator. */
#include "app/app.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/textio.h"
#include "net/scenario.h"

static uint64_t hash_name(const char *name)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    return h;
}

/* Index of the flow called name, or -1. */
static int64_t find_name(const m4_app *app, const char *name)
{
    if (!app->name_slot_count)
        return -1;
    uint64_t mask = (uint64_t)app->name_slot_count - 1;
    for (uint64_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        int64_t slot = app->name_slots[i];
        if (slot == 0)
            return -1;
        if (strcmp(app->flows[slot - 1].name, name) == 0)
            return slot - 1;
    }
}

static void insert_name(m4_app *app, int64_t index)
{
    uint64_t mask = (uint64_t)app->name_slot_count - 1;
    uint64_t i = hash_name(app->flows[index].name) & mask;
    while (app->name_slots[i])
        i = (i + 1) & mask;
    app->name_slots[i] = index + 1;
}

/* Keep the table at most half full so probes stay short. */
static int grow_names(m4_app *app)
{
    if (2 * (app->count + 1) <= app->name_slot_count)
        return M4_OK;
    int64_t slots = app->name_slot_count ? 2 * app->name_slot_count : 64;
    int64_t *table = calloc((size_t)slots, sizeof *table);
    if (!table)
        return M4_ENOMEM;
    free(app->name_slots);
    app->name_slots = table;
    app->name_slot_count = slots;
    for (int64_t i = 0; i < app->count; i++)
        insert_name(app, i);
    return M4_OK;
}

static int valid_name(const char *name)
{
    if (!*name)
        return 0;
    for (const char *c = name; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == '.' || *c == '-' || *c == ':';
        if (!ok)
            return 0;
    }
    return 1;
}

int m4_app_new(m4_app **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? M4_OK : m4_error_set(M4_ENOMEM, "app: out of memory");
}

void m4_app_free(m4_app *app)
{
    if (!app)
        return;
    m4_app__clear_run(app);
    for (int64_t i = 0; i < app->count; i++)
        free(app->flows[i].name);
    free(app->flows);
    free(app->deps);
    free(app->name_slots);
    free(app->path);
    free(app);
}

/* where: "path:line: " or "" for errors. */
static int add_flow_at(m4_app *app, const char *where, int64_t line, const char *name, int32_t src,
                       int32_t dst, int64_t size_bytes, const int64_t *deps, int num_deps,
                       int64_t think_ns, int64_t *index_out)
{
    if (!valid_name(name))
        return m4_error_set(M4_EPARSE, "%sflow name '%s' must be letters, digits and _ . - :",
                            where, name);
    int64_t previous = find_name(app, name);
    if (previous >= 0) {
        if (app->flows[previous].line > 0)
            return m4_error_set(M4_EPARSE, "%sflow '%s' already defined on line %" PRId64, where,
                                name, app->flows[previous].line);
        return m4_error_set(M4_EPARSE, "%sflow '%s' already defined", where, name);
    }
    if (src < 0 || dst < 0)
        return m4_error_set(M4_EPARSE, "%sflow '%s': hosts must be node ids >= 0", where, name);
    if (src == dst)
        return m4_error_set(M4_EPARSE, "%sflow '%s': source equals destination", where, name);
    if (size_bytes <= 0)
        return m4_error_set(M4_EPARSE, "%sflow '%s': size must be positive", where, name);
    if (think_ns < 0)
        return m4_error_set(M4_EPARSE, "%sflow '%s': think time must not be negative", where, name);
    if (m4_array_reserve(&app->flows, &app->capacity, app->count + 1, sizeof *app->flows, 64) ||
        m4_array_reserve(&app->deps, &app->deps_capacity, app->num_deps + num_deps,
                         sizeof *app->deps, 256) ||
        grow_names(app))
        return m4_error_set(M4_ENOMEM, "app: out of memory");
    char *copy = strdup(name);
    if (!copy)
        return m4_error_set(M4_ENOMEM, "app: out of memory");
    int64_t index = app->count;
    app->flows[index] = (m4_app_flow){copy, src, dst, size_bytes, think_ns, app->num_deps,
                                      num_deps, line};
    if (num_deps > 0)
        memcpy(app->deps + app->num_deps, deps, (size_t)num_deps * sizeof *deps);
    app->num_deps += num_deps;
    app->count++;
    insert_name(app, index);
    if (index_out)
        *index_out = index;
    return M4_OK;
}

int m4_app_add_flow(m4_app *app, const char *name, int32_t src, int32_t dst, int64_t size_bytes,
                    const char *const *deps, int num_deps, int64_t think_ns, int64_t *index_out)
{
    if (!app || !name || num_deps < 0 || (num_deps > 0 && !deps))
        return m4_error_set(M4_EINVAL, "m4_app_add_flow: bad arguments");
    int64_t *indices = malloc((size_t)(num_deps ? num_deps : 1) * sizeof *indices);
    if (!indices)
        return m4_error_set(M4_ENOMEM, "app: out of memory");
    for (int i = 0; i < num_deps; i++) {
        indices[i] = find_name(app, deps[i]);
        if (indices[i] < 0) {
            free(indices);
            return m4_error_set(M4_EINVAL, "flow '%s': depends on unknown flow '%s'", name,
                                deps[i]);
        }
    }
    int err = add_flow_at(app, "", 0, name, src, dst, size_bytes, indices, num_deps, think_ns,
                          index_out);
    free(indices);
    return err == M4_EPARSE ? M4_EINVAL : err;
}

int m4_app_parse_size(const char *text, int64_t *out)
{
    static const struct { const char *suffix; int64_t scale; } units[] = {
        {"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024 * 1024 * 1024},
        {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}, {"B", 1}};
    size_t n = strlen(text);
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t k = strlen(units[u].suffix);
        if (n > k && strcmp(text + n - k, units[u].suffix) == 0) {
            char number[64];
            if (n - k >= sizeof number)
                return M4_EPARSE;
            memcpy(number, text, n - k);
            number[n - k] = '\0';
            double value;
            if (m4_parse_double(number, &value) || !(value > 0) ||
                value * (double)units[u].scale > 9e18)
                return M4_EPARSE;
            double bytes = value * (double)units[u].scale;
            if (bytes != (double)(int64_t)bytes)
                return M4_EPARSE; /* fractional bytes */
            *out = (int64_t)bytes;
            return M4_OK;
        }
    }
    return m4_parse_i64(text, out);
}

static int parse_think(const char *text, int64_t *out)
{
    if (strcmp(text, "0") == 0) {
        *out = 0;
        return M4_OK;
    }
    return m4_parse_delay_ns(text, out);
}

static int parse_node(const char *text, int32_t *out)
{
    int64_t value;
    if (m4_parse_i64(text, &value) || value < 0 || value > INT32_MAX)
        return M4_EPARSE;
    *out = (int32_t)value;
    return M4_OK;
}

#define MAX_FIELDS 8

static int parse_flow_line(m4_app *app, char **fields, int count, const char *where,
                           int64_t line, int64_t **deps, int64_t *deps_capacity)
{
    if (count < 5)
        return m4_error_set(M4_EPARSE, "%sexpected \"flow NAME SRC DST SIZE [after=DEPS] "
                            "[think=TIME]\", found %d fields", where, count);
    if (count > 7)
        return m4_error_set(M4_EPARSE, "%stoo many fields (at most 7)", where);
    int32_t src, dst;
    int64_t size, think = 0;
    if (parse_node(fields[2], &src))
        return m4_error_set(M4_EPARSE, "%sSRC '%s' is not a node id", where, fields[2]);
    if (parse_node(fields[3], &dst))
        return m4_error_set(M4_EPARSE, "%sDST '%s' is not a node id", where, fields[3]);
    if (m4_app_parse_size(fields[4], &size) || size <= 0)
        return m4_error_set(M4_EPARSE, "%sSIZE '%s' is not a positive size (bytes, or with KB MB "
                            "GB KiB MiB GiB)", where, fields[4]);
    int num_deps = 0, seen_after = 0, seen_think = 0;
    for (int i = 5; i < count; i++) {
        char *field = fields[i];
        if (strncmp(field, "after=", 6) == 0 && !seen_after) {
            seen_after = 1;
            char *list = field + 6;
            if (!*list)
                return m4_error_set(M4_EPARSE, "%safter= needs flow names", where);
            for (char *name = list; name;) {
                char *comma = strchr(name, ',');
                if (comma)
                    *comma = '\0';
                int64_t index = find_name(app, name);
                if (index < 0)
                    return m4_error_set(M4_EPARSE, "%sdepends on '%s', which is not defined on an "
                                        "earlier line", where, name);
                for (int d = 0; d < num_deps; d++)
                    if ((*deps)[d] == index)
                        return m4_error_set(M4_EPARSE, "%sdependency '%s' listed twice", where,
                                            name);
                if (m4_array_reserve(deps, deps_capacity, num_deps + 1, sizeof **deps, 16))
                    return m4_error_set(M4_ENOMEM, "app: out of memory");
                (*deps)[num_deps++] = index;
                name = comma ? comma + 1 : NULL;
            }
        } else if (strncmp(field, "think=", 6) == 0 && !seen_think) {
            seen_think = 1;
            if (parse_think(field + 6, &think))
                return m4_error_set(M4_EPARSE, "%sthink time '%s' needs a unit (ns, us, ms, s) "
                                    "and must not be negative", where, field + 6);
        } else {
            return m4_error_set(M4_EPARSE, "%sunexpected field '%s' (after=DEPS and think=TIME, "
                                "each at most once)", where, field);
        }
    }
    return add_flow_at(app, where, line, fields[1], src, dst, size, *deps, num_deps, think, NULL);
}

int m4_app_load(m4_app **out, const char *path)
{
    *out = NULL;
    m4_app *app;
    int err = m4_app_new(&app);
    if (err)
        return err;
    app->path = strdup(path);
    if (!app->path) {
        m4_app_free(app);
        return m4_error_set(M4_ENOMEM, "app: out of memory");
    }
    m4_line_reader reader;
    err = m4_line_reader_open(&reader, path);
    if (err) {
        m4_app_free(app);
        return err;
    }
    int64_t *deps = NULL, deps_capacity = 0;
    char *line;
    while ((err = m4_line_reader_next(&reader, &line)) == 1) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *fields[MAX_FIELDS + 1];
        int count = m4_split_fields(line, fields, MAX_FIELDS);
        if (count == 0)
            continue;
        char where[1100];
        snprintf(where, sizeof where, "%s:%" PRId64 ": ", path, reader.line_number);
        if (strcmp(fields[0], "flow") != 0) {
            err = m4_error_set(M4_EPARSE, "%sunknown directive '%s' (expected 'flow')", where,
                               fields[0]);
            break;
        }
        err = parse_flow_line(app, fields, count, where, reader.line_number, &deps,
                              &deps_capacity);
        if (err)
            break;
    }
    m4_line_reader_close(&reader);
    free(deps);
    if (err == 0 && app->count == 0)
        err = m4_error_set(M4_EPARSE, "%s: no flows", path);
    if (err < 0) {
        m4_app_free(app);
        return err;
    }
    *out = app;
    return M4_OK;
}

int m4_app_write(const m4_app *app, const char *path)
{
    m4_atomic_file out;
    int err = m4_atomic_open(&out, path);
    if (err)
        return err;
    fprintf(out.file, "# m4sim application: flow NAME SRC DST SIZE [after=DEPS] [think=TIME]\n");
    for (int64_t i = 0; i < app->count; i++) {
        const m4_app_flow *f = &app->flows[i];
        fprintf(out.file, "flow %s %d %d %" PRId64, f->name, f->src, f->dst, f->size_bytes);
        for (int32_t d = 0; d < f->num_deps; d++)
            fprintf(out.file, "%s%s", d == 0 ? " after=" : ",",
                    app->flows[app->deps[f->first_dep + d]].name);
        if (f->think_ns > 0)
            fprintf(out.file, " think=%" PRId64 "ns", f->think_ns);
        fputc('\n', out.file);
    }
    return m4_atomic_commit(&out);
}

int64_t m4_app_num_flows(const m4_app *app) { return app ? app->count : 0; }

const m4_app_flow *m4_app_flow_at(const m4_app *app, int64_t index)
{
    return index >= 0 && index < app->count ? &app->flows[index] : NULL;
}

int m4_app_ring_allreduce(m4_app **out, const int32_t *hosts, int32_t n, int64_t bytes,
                          int64_t think_ns)
{
    *out = NULL;
    if (n < 2)
        return m4_error_set(M4_EINVAL, "ring all-reduce needs at least 2 hosts, not %d", n);
    if (bytes <= 0 || think_ns < 0)
        return m4_error_set(M4_EINVAL, "ring all-reduce: size must be positive and think time "
                            "not negative");
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < i; j++)
            if (hosts[i] == hosts[j])
                return m4_error_set(M4_EINVAL, "ring all-reduce: host %d listed twice", hosts[i]);
    m4_app *app;
    int err = m4_app_new(&app);
    if (err)
        return err;
    int64_t chunk = (bytes + n - 1) / n;
    int32_t steps = 2 * (n - 1);
    for (int32_t k = 0; k < steps && !err; k++) {
        for (int32_t i = 0; i < n && !err; i++) {
            char name[48];
            snprintf(name, sizeof name, "s%dh%d", k, i);
            int64_t deps[2];
            int num_deps = 0;
            if (k > 0) {
                /* Own previous send (index (k-1)n + i) and the chunk from the
                 * left neighbour (index (k-1)n + i-1). */
                deps[num_deps++] = (int64_t)(k - 1) * n + i;
                deps[num_deps++] = (int64_t)(k - 1) * n + (i + n - 1) % n;
            }
            /* Steps 1..n-1 first reduce what came in; the all-gather copies. */
            int64_t think = k >= 1 && k <= n - 1 ? think_ns : 0;
            err = add_flow_at(app, "", 0, name, hosts[i], hosts[(i + 1) % n], chunk, deps,
                              num_deps, think, NULL);
        }
    }
    if (err) {
        m4_app_free(app);
        return err == M4_EPARSE ? M4_EINVAL : err;
    }
    *out = app;
    return M4_OK;
}

int m4_app_parse_hosts(const char *text, int32_t **hosts_out, int32_t *count_out)
{
    *hosts_out = NULL;
    *count_out = 0;
    int32_t *hosts = NULL, count = 0, capacity = 0;
    char *copy = strdup(text);
    if (!copy)
        return M4_ENOMEM;
    int err = M4_OK;
    for (char *item = copy; item && !err;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *dash = strchr(item, '-');
        int32_t first, last;
        if (dash) {
            *dash = '\0';
            err = parse_node(item, &first) || parse_node(dash + 1, &last) || last < first
                      ? M4_EPARSE : M4_OK;
        } else {
            err = parse_node(item, &first);
            last = first;
        }
        if (!err && (int64_t)count + (last - first) + 1 > 1000000)
            err = M4_EPARSE;
        for (int64_t h = first; !err && h <= last; h++) {
            err = m4_array_reserve32(&hosts, &capacity, count + 1, sizeof *hosts, 16);
            if (err)
                break;
            hosts[count++] = (int32_t)h;
        }
        item = comma ? comma + 1 : NULL;
    }
    free(copy);
    if (err) {
        free(hosts);
        return err;
    }
    *hosts_out = hosts;
    *count_out = count;
    return M4_OK;
}

int m4_app_check_hosts(const m4_app *app, const m4_scenario *scenario)
{
    const m4_topology *t = &scenario->topology;
    for (int64_t i = 0; i < app->count; i++) {
        const m4_app_flow *f = &app->flows[i];
        int32_t ends[2] = {f->src, f->dst};
        for (int e = 0; e < 2; e++) {
            int32_t node = ends[e];
            if (node < t->num_nodes && t->host_index[node] >= 0)
                continue;
            const char *what = e == 0 ? "SRC" : "DST";
            if (app->path && f->line > 0)
                return m4_error_set(M4_EINVAL, "%s:%" PRId64 ": %s %d is not a host of the "
                                    "topology (%d nodes)", app->path, f->line, what, node,
                                    t->num_nodes);
            return m4_error_set(M4_EINVAL, "flow '%s': %s %d is not a host of the topology",
                                f->name, what, node);
        }
    }
    return M4_OK;
}
