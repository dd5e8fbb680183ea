#ifndef UTIL_H
#define UTIL_H

struct config {
    int help;
    int port;
    const char *root;
};

struct config config_from_args(int argc, char **argv);
void print_usage(const char *argv0);

#endif
