#!/usr/bin/env node
// The node-gnutls command-line tool (serve / connect); built from lib/cli into dist/cli.
'use strict';
require('../dist/cli/main.js').run(process.argv.slice(2));
