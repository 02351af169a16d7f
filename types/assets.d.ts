// Files embedded with `import path from "..." with { type: "file" }`: Bun
// copies them into the compiled binary and the import is their path at run time.
declare module "*.so" {
  const path: string;
  export default path;
}
declare module "*.so.1" {
  const path: string;
  export default path;
}
declare module "*.pack" {
  const path: string;
  export default path;
}
declare module "*.bpf.o" {
  const path: string;
  export default path;
}
