// A/B of convolution kernels (issue 13): the layers of the benchmark networks through oneDNN and
// XNNPACK, each in the layout it prefers, timed the way GraftKernelBench times Graft's own kernels.
//
//   tools/ab/run_ab.sh            builds this, runs it and GraftKernelBench, prints the table
//
// Input: GraftKernelBench's `list` lines on stdin (net, name, in, out, k, stride, size, groups,
// activation, count). Output, one line per layer and engine: net, name, engine, median ms, min ms.
// Engines:
//   onednn-blocked  oneDNN with format_tag_any (it picks its blocked layout, e.g. nChw16c on AVX-512);
//                   what a graph engine that keeps blocked layouts between layers pays per layer
//   onednn-nchw     oneDNN on plain NCHW tensors (what a drop-in for Graft's NCHW kernel would pay)
//   xnnpack-nhwc    XNNPACK's NHWC convolution (ReLU fused as a clamp; SiLU is not fusible there)
// Threads: OMP_NUM_THREADS for oneDNN (its Debian build uses OpenMP), AB_THREADS for XNNPACK's pool.
#include <dnnl.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call) do { if ((call) != dnnl_success) { fprintf(stderr, "oneDNN failed: %s\n", #call); exit(1); } } while (0)
#define XCHECK(call) do { if ((call) != xnn_status_success) { fprintf(stderr, "XNNPACK failed: %s\n", #call); exit(1); } } while (0)

typedef struct { char net[32], name[64], act[16]; int in, out, k, stride, size, groups, count; } Layer;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/// Median and minimum seconds of `reps` runs after two warm-ups (as GraftKernelBench's `measure`).
typedef void (*Body)(void *);
static void measure(Body body, void *context, int reps, double *median, double *minimum) {
    double times[64];
    body(context);
    body(context);
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        body(context);
        times[i] = now() - t0;
    }
    qsort(times, reps, sizeof(double), compare);
    *median = times[reps / 2];
    *minimum = times[0];
}

static void fill_random(float *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; p[i] = ((seed >> 8) % 2001 - 1000) / 1000.0f; }
}

static float *random_floats(size_t n, unsigned seed) {
    float *p = malloc(n * sizeof(float));
    fill_random(p, n, seed);
    return p;
}

// MARK: oneDNN

typedef struct { dnnl_primitive_t prim; dnnl_stream_t stream; dnnl_exec_arg_t args[4]; } DnnlRun;

static void dnnl_body(void *context) {
    DnnlRun *r = context;
    CHECK(dnnl_primitive_execute(r->prim, r->stream, 4, r->args));
    CHECK(dnnl_stream_wait(r->stream));
}

static dnnl_memory_t filled(dnnl_engine_t engine, const dnnl_memory_desc_t *md, unsigned seed) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE));
    void *data;
    CHECK(dnnl_memory_get_data_handle(m, &data));
    fill_random(data, dnnl_memory_desc_get_size(md) / sizeof(float), seed);
    return m;
}

static void run_onednn(const Layer *l, int batch, int blocked, int reps, dnnl_engine_t engine, dnnl_stream_t stream) {
    int pad = (l->k - 1) / 2, out_size = (l->size + 2 * pad - l->k) / l->stride + 1, g = l->groups;
    dnnl_dims_t src_dims = {batch, l->in, l->size, l->size}, dst_dims = {batch, l->out, out_size, out_size};
    dnnl_dims_t bias_dims = {l->out}, strides = {l->stride, l->stride}, padding = {pad, pad};
    dnnl_memory_desc_t src_md, wei_md, bias_md, dst_md;
    dnnl_format_tag_t act_tag = blocked ? dnnl_format_tag_any : dnnl_nchw;
    CHECK(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, act_tag));
    CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, act_tag));
    CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x));
    // Weights in the layout oneDNN wants in both cases: they are reordered once, at load.
    if (g > 1) {
        dnnl_dims_t wei_dims = {g, l->out / g, l->in / g, l->k, l->k};
        CHECK(dnnl_memory_desc_init_by_tag(&wei_md, 5, wei_dims, dnnl_f32, dnnl_format_tag_any));
    } else {
        dnnl_dims_t wei_dims = {l->out, l->in, l->k, l->k};
        CHECK(dnnl_memory_desc_init_by_tag(&wei_md, 4, wei_dims, dnnl_f32, dnnl_format_tag_any));
    }
    dnnl_convolution_desc_t cd;
    CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &wei_md,
                                             &bias_md, &dst_md, strides, padding, padding));
    dnnl_post_ops_t post_ops;
    dnnl_primitive_attr_t attr;
    CHECK(dnnl_post_ops_create(&post_ops));
    if (strcmp(l->act, "relu") == 0) CHECK(dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0, 0));
    if (strcmp(l->act, "silu") == 0) CHECK(dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_swish, 1.0f, 0));
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_primitive_attr_set_post_ops(attr, post_ops));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &cd, attr, engine, NULL));
    DnnlRun r = {.stream = stream};
    CHECK(dnnl_primitive_create(&r.prim, pd));
    int kinds[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST};
    dnnl_query_t queries[4] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_weights_md, dnnl_query_dst_md};
    for (int i = 0; i < 4; i++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, queries[i], i == 2 ? 1 : 0);
        r.args[i].arg = kinds[i];
        r.args[i].memory = filled(engine, md, 3 + i);
    }
    const char *impl;
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    double median, minimum;
    measure(dnnl_body, &r, reps, &median, &minimum);
    printf("%s\t%s\t%s\t%.4f\t%.4f\t%s\n", l->net, l->name, blocked ? "onednn-blocked" : "onednn-nchw", median * 1e3,
           minimum * 1e3, impl);
    for (int i = 0; i < 4; i++) dnnl_memory_destroy(r.args[i].memory);
    dnnl_primitive_destroy(r.prim);
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    dnnl_post_ops_destroy(post_ops);
}

// MARK: XNNPACK

typedef struct { xnn_operator_t op; pthreadpool_t pool; } XnnRun;

static void xnn_body(void *context) {
    XnnRun *r = context;
    XCHECK(xnn_run_operator(r->op, r->pool));
}

static void run_xnnpack(const Layer *l, int batch, int reps, pthreadpool_t pool) {
    int pad = (l->k - 1) / 2, out_size = (l->size + 2 * pad - l->k) / l->stride + 1, g = l->groups;
    size_t gin = l->in / g, gout = l->out / g;
    float *kernel = random_floats((size_t)l->out * gin * l->k * l->k, 4), *bias = random_floats(l->out, 5);
    float *input = random_floats((size_t)batch * l->in * l->size * l->size, 3);
    float *output = malloc((size_t)batch * l->out * out_size * out_size * sizeof(float));
    float low = strcmp(l->act, "relu") == 0 ? 0.0f : -INFINITY;
    XnnRun r = {.pool = pool};
    XCHECK(xnn_create_convolution2d_nhwc_f32(pad, pad, pad, pad, l->k, l->k, l->stride, l->stride, 1, 1, g, gin, gout,
                                             l->in, l->out, kernel, bias, low, INFINITY, 0, &r.op));
    XCHECK(xnn_setup_convolution2d_nhwc_f32(r.op, batch, l->size, l->size, input, output, pool));
    double median, minimum;
    measure(xnn_body, &r, reps, &median, &minimum);
    printf("%s\t%s\t%s\t%.4f\t%.4f\t%s\n", l->net, l->name, "xnnpack-nhwc", median * 1e3, minimum * 1e3,
           strcmp(l->act, "silu") == 0 ? "silu not fused" : "");
    xnn_delete_operator(r.op);
    free(kernel); free(bias); free(input); free(output);
}

int main(int argc, char **argv) {
    int batch = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 15;
    if (reps < 1 || reps > 64) reps = 15;
    const char *threads = getenv("AB_THREADS");
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    XCHECK(xnn_initialize(NULL));
    pthreadpool_t pool = pthreadpool_create(threads ? atoi(threads) : 2);
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        Layer l = {0};
        if (sscanf(line, "%31[^\t]\t%63[^\t]\t%d\t%d\t%d\t%d\t%d\t%d\t%15[^\t]\t%d", l.net, l.name, &l.in, &l.out, &l.k,
                   &l.stride, &l.size, &l.groups, l.act, &l.count) != 10) continue;
        run_onednn(&l, batch, 1, reps, engine, stream);
        run_onednn(&l, batch, 0, reps, engine, stream);
        run_xnnpack(&l, batch, reps, pool);
        fflush(stdout);
    }
    pthreadpool_destroy(pool);
    return 0;
}
