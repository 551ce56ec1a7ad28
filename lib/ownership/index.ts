export { partitionOf } from './partition.ts';
