/*
 * gpu-probe: what the CUDA 12 libraries beside the tfjs-node-gpu binding and the NVIDIA driver report,
 * printed as one JSON line. Built by scripts/install-tfjs-node-offline.sh --gpu into the package's deps/,
 * with an $ORIGIN-relative RUNPATH to the nvidia-*-cu12 wheels' libraries there; src/backend/native/gpu.ts runs it
 * before it loads TensorFlow, so a machine without a usable GPU is known without loading 1 GB of library.
 * Plain dlopen: no CUDA headers or link-time CUDA libraries are needed, and a missing driver is a fact
 * to report, not a load failure.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stddef.h>

typedef int (*int_out_fn)(int *);
typedef size_t (*size_fn)(void);
typedef int (*init_fn)(unsigned int);
typedef int (*device_get_fn)(int *, int);
typedef int (*name_fn)(char *, int, int);
typedef int (*mem_fn)(size_t *, int);
typedef int (*attr_fn)(int *, int, int);
typedef int (*error_name_fn)(int, const char **);

enum { CC_MAJOR = 75, CC_MINOR = 76 }; /* CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_{MAJOR,MINOR} */

static void json_string(const char *s) {
  putchar('"');
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    if ((unsigned char)*s >= 0x20) putchar(*s);
  }
  putchar('"');
}

int main(void) {
  printf("{\"cudaRuntime\":");
  void *cudart = dlopen("libcudart.so.12", RTLD_NOW | RTLD_LOCAL);
  int rt = 0;
  int_out_fn rt_version = cudart ? (int_out_fn)dlsym(cudart, "cudaRuntimeGetVersion") : NULL;
  if (rt_version && rt_version(&rt) == 0) printf("%d", rt); else printf("null");

  printf(",\"cudnn\":");
  void *cudnn = dlopen("libcudnn.so.8", RTLD_NOW | RTLD_LOCAL);
  size_fn cudnn_version = cudnn ? (size_fn)dlsym(cudnn, "cudnnGetVersion") : NULL;
  if (cudnn_version) printf("%zu", cudnn_version()); else printf("null");
  if (!cudart || !cudnn) {
    /* The libraries beside the binding are incomplete: say which, in dlerror's words. */
    const char *why = dlerror();
    printf(",\"libraryProblem\":");
    json_string(why ? why : "libcudart.so.12 or libcudnn.so.8 lacks its version function");
  }

  /* The driver is the system's, found the way TensorFlow finds it. */
  void *cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!cuda) {
    printf(",\"driver\":null,\"devices\":[],\"driverProblem\":");
    json_string("libcuda.so.1 not found: no NVIDIA driver is installed (or it is not visible in this container)");
    printf("}\n");
    return 0;
  }
  init_fn cu_init = (init_fn)dlsym(cuda, "cuInit");
  int_out_fn driver_version = (int_out_fn)dlsym(cuda, "cuDriverGetVersion");
  int_out_fn device_count = (int_out_fn)dlsym(cuda, "cuDeviceGetCount");
  device_get_fn device_get = (device_get_fn)dlsym(cuda, "cuDeviceGet");
  name_fn device_name = (name_fn)dlsym(cuda, "cuDeviceGetName");
  mem_fn total_mem = (mem_fn)dlsym(cuda, "cuDeviceTotalMem_v2");
  attr_fn attribute = (attr_fn)dlsym(cuda, "cuDeviceGetAttribute");
  error_name_fn error_name = (error_name_fn)dlsym(cuda, "cuGetErrorName");
  if (!cu_init || !driver_version || !device_count || !device_get || !device_name || !total_mem || !attribute) {
    printf(",\"driver\":null,\"devices\":[],\"driverProblem\":");
    json_string("libcuda.so.1 lacks the CUDA driver API functions; the NVIDIA driver is too old or broken");
    printf("}\n");
    return 0;
  }
  int dv = 0;
  printf(",\"driver\":");
  if (driver_version(&dv) == 0) printf("%d", dv); else printf("null");
  int rc = cu_init(0);
  int count = 0;
  if (rc == 0) rc = device_count(&count);
  printf(",\"devices\":[");
  for (int i = 0; rc == 0 && i < count; i++) {
    int dev = 0, major = 0, minor = 0;
    char name[256] = "";
    size_t bytes = 0;
    device_get(&dev, i);
    device_name(name, sizeof name, dev);
    total_mem(&bytes, dev);
    attribute(&major, CC_MAJOR, dev);
    attribute(&minor, CC_MINOR, dev);
    printf("%s{\"name\":", i ? "," : "");
    json_string(name);
    printf(",\"computeCapability\":\"%d.%d\",\"memoryMiB\":%zu}", major, minor, bytes >> 20);
  }
  printf("]");
  if (rc != 0) {
    const char *nm = NULL;
    if (error_name) error_name(rc, &nm);
    char buf[160];
    snprintf(buf, sizeof buf, "the CUDA driver found no usable GPU (cuInit/cuDeviceGetCount: %s, code %d)", nm ? nm : "error", rc);
    printf(",\"driverProblem\":");
    json_string(buf);
  }
  printf("}\n");
  return 0;
}
