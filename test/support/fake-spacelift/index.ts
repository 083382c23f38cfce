export {
  FakeSpacelift,
  type AddPoolInput,
  type AddWorkerInput,
  type DrainEvent,
  type DrainHook,
  type FakePool,
  type FakeSpaceliftOptions,
  type FakeWorker,
  type Fault,
  type FaultOptions,
  type ReceivedOperation,
} from './server';
export { currentSchema, legacySchema } from './schema';
