#include <stdio.h>
#include "util.h"
#include "net.h"

int main(int argc, char **argv) {
    struct config cfg = config_from_args(argc, argv);
    if (cfg.help) {
        print_usage(argv[0]);
        return 0;
    }
    return serve(&cfg) == 0 ? 0 : 1;
}
