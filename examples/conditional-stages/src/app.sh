#!/bin/sh
# The "application": says which build it is.
echo "app running in ${APP_ENV:-unknown} mode"
