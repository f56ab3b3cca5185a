#!/bin/sh
# A development helper: prints the environment and the files of the app.
env | sort
ls -lR /app
