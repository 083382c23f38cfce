/** Jest global teardown: removes the run's temporary folder (see temp-root.ts). */
export { teardown as default } from './temp-root';
