// Never reach real AWS from a test: dummy credentials, no instance metadata lookups.
process.env.AWS_ACCESS_KEY_ID = 'AKIDLOCAL';
process.env.AWS_SECRET_ACCESS_KEY = 'local-secret';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22+).
import '../../lib/sandbox/polyfills.ts';
