/** The application config module, resolved by an esbuild alias when a function is bundled. */
declare module 'multiactive-application' {
  const application: import('../../lib/app/index.ts').Application;
  export default application;
}
