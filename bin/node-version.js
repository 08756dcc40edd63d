'use strict';
// The Node.js release Tenet needs (package.json engines.node, ">=X.Y.Z"), checked before anything else
// loads: an older node (say the distribution's /usr/bin/node ahead of setup's /usr/local/bin/node on
// some PATH) would otherwise fail later with an unrelated-looking error, or seem to work.
const needed = require('../package.json').engines.node.replace(/^>=/, '');

/** True when version a ("24.1.0") is older than b. */
function older(a, b) {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
}

/** Null when this node is new enough, else the message saying which node ran and what is needed. */
function nodeVersionProblem(version = process.versions.node, execPath = process.execPath) {
  if (!older(version, needed)) return null;
  return `Tenet needs Node.js >= ${needed}, but ${execPath} is v${version}: run bash scripts/setup.sh (it installs Node.js ${needed.split('.')[0]} when the machine's is older) and put /usr/local/bin before /usr/bin in PATH`;
}

module.exports = { needed, older, nodeVersionProblem };
