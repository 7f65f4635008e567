/* swiftc links every executable with swiftrt.o, whose constructor hands the image's Swift
 * metadata to the Swift runtime. This program has no Swift code: answering swiftrt.o's two
 * references here keeps the runtime, its start-up work (a backtracer that stats and reads
 * /proc/self/maps at every start) and 9 MB out of the supervisor that starts with every task. */
#include <stdbool.h>

void swift_addNewDSOImage(const void *header);
bool _swift_backtrace_isThunkFunction(const char *name);

void swift_addNewDSOImage(const void *header) { (void)header; }
bool _swift_backtrace_isThunkFunction(const char *name) { (void)name; return false; }
