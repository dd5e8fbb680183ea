#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

struct config config_from_args(int argc, char **argv) {
    struct config cfg = { .help = 0, .port = 8080, .root = "." };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0) cfg.help = 1;
        else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) cfg.port = atoi(argv[++i]);
        else cfg.root = argv[i];
    }
    return cfg;
}

void print_usage(const char *argv0) {
    fprintf(stderr, "usage: %s [-h] [-p PORT] [ROOT]\n", argv0);
}
