#ifndef NET_H
#define NET_H

#include "util.h"

int serve(const struct config *cfg);

#endif
