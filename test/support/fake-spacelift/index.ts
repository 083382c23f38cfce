export {
  FakeSpacelift,
  type AddWorkerInput,
  type DrainEvent,
  type DrainHook,
  type FakeSpaceliftOptions,
  type FakeWorker,
  type Fault,
  type FaultOptions,
  type ReceivedOperation,
} from './server';
export { currentSchema, legacySchema } from './schema';
