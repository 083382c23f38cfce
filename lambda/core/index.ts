/** The scaling policy: pure functions and plain data, no I/O. */
export * from './types';
export * from './ports';
export * from './metadata';
export * from './config';
export * from './schedule';
export * from './scale-down-delay';
export * from './arrivals';
export * from './capacity';
export * from './scale-in';
export * from './strays';
export * from './reclaim';
export * from './decide';
export * from './registration';
export * from './lost';
