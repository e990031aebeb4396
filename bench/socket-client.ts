// The load generator lives in src/loadgen (it ships with `sightline bench`); the benchmarks import it from here.
export { type Exchange, rawRequest, SocketPool } from '../src/loadgen/connection-pool.js';
export { closedLoop, poissonLoad } from '../src/loadgen/load-loops.js';
export { quantile } from '../src/loadgen/latency-stats.js';
