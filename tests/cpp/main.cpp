// Catch2 entry point for the bionn C++ core tests. Each area has its own test_*.cpp file.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
