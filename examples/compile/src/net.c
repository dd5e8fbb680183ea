#include <stdio.h>
#include "net.h"

int serve(const struct config *cfg) {
    printf("serving %s on port %d\n", cfg->root, cfg->port);
    return 0;
}
