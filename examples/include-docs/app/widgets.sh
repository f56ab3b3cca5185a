#!/bin/sh
# The "application" of the example.
echo '[{"id":1,"name":"sprocket"}]'
