import { stopSharedCluster } from './cluster.js';

/** Mocha root hooks (loaded with --require): stop the shared cluster once every suite has run. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30_000);
    await stopSharedCluster();
  },
};
