#include "berth_compress.h"
