export { EsdbDouble, type EsdbDoubleOptions } from './esdb-double';
