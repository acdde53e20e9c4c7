#!/usr/bin/env bash
# Placeholder for an npm script whose issue has not landed yet.
echo "$1: not implemented yet (issue $2); nothing to run."
