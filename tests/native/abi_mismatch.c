/* A native plugin built for another ABI version: the host must refuse it
 * before calling anything else. */
#include <stdint.h>
#include <stdlib.h>

uint32_t vigil_native_abi_version(void) { return 99; }
char *vigil_native_describe(void) { abort(); }
char *vigil_native_run(const char *config) { (void)config; abort(); }
void vigil_native_free(char *text) { free(text); }
