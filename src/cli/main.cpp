#include "vg/cli/cli.hpp"

int main(int argc, char** argv) { return vg::cli::RunCli(argc, argv); }
