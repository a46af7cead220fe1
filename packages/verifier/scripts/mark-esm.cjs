// The package is CommonJS by default; this marks the ES module build as such for Node.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
writeFileSync(join(__dirname, '../dist/esm/package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
