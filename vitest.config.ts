import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup-env.ts'],
    // Two cores: DynamoDB Local shares them with the test workers.
    pool: 'forks',
    maxWorkers: 2,
    // Hang guards, not speed checks (speed lives in `npm run bench`): generous enough for a CI machine
    // two to three times slower than a quiet one, where a 1,000-event load took 30 s (14.7 s alone).
    testTimeout: 90_000,
    hookTimeout: 180_000,
  },
});
