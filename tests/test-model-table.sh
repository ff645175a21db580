#!/bin/sh
# models/README.md's table must be the one tools/model-table makes from the models/ files.
BUILD=${BUILD:-build}
"$BUILD/tools/model-table" --check models
