/** gRPC server reflection (grpc.reflection.v1 and v1alpha): lists the services
 * and hands out their file descriptors, so `buf curl`, grpcurl and friends
 * work without .proto files. One implementation answers both versions. */
import { create, toBinary, type DescFile, type DescMessage, type DescEnum } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb";

/** The question of one request, the same in both versions. */
type Question = v1.ServerReflectionRequest["messageRequest"] | v1alpha.ServerReflectionRequest["messageRequest"];

/** The answer of one response, as plain data both versions' schemas accept. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

const MAX_NAME_IN_ERROR = 200;

/** Symbols and files of the described API, indexed once. */
export class ReflectionIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly messages = new Map<string, DescMessage>();
  readonly services: readonly string[];

  /** `files`: the files whose services are listed (their imports are served too). */
  constructor(files: readonly DescFile[]) {
    const services: string[] = [];
    for (const f of files) {
      this.addFile(f);
      services.push(...f.services.map((s) => s.typeName));
    }
    this.services = services;
  }

  private addFile(f: DescFile): void {
    if (this.files.has(f.proto.name)) return;
    this.files.set(f.proto.name, f);
    for (const d of f.dependencies) this.addFile(d);
    for (const s of f.services) {
      this.symbols.set(s.typeName, f);
      for (const m of s.methods) this.symbols.set(`${s.typeName}.${m.name}`, f);
    }
    for (const e of f.enums) this.addEnum(e, f);
    for (const m of f.messages) this.addMessage(m, f);
    for (const x of f.extensions) this.symbols.set(x.typeName, f);
  }

  private addMessage(m: DescMessage, f: DescFile): void {
    this.symbols.set(m.typeName, f);
    this.messages.set(m.typeName, m);
    for (const field of m.fields) this.symbols.set(`${m.typeName}.${field.name}`, f);
    for (const n of m.nestedMessages) this.addMessage(n, f);
    for (const e of m.nestedEnums) this.addEnum(e, f);
  }

  private addEnum(e: DescEnum, f: DescFile): void {
    this.symbols.set(e.typeName, f);
    for (const v of e.values) this.symbols.set(`${e.typeName}.${v.name}`, f);
  }

  answer(q: Question): Answer {
    switch (q.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: this.services.map((name) => ({ name })) } };
      case "fileByFilename":
        return this.filesAnswer(this.files.get(q.value), `file "${clip(q.value)}"`);
      case "fileContainingSymbol":
        return this.filesAnswer(this.symbols.get(q.value.replace(/^\./, "")), `symbol "${clip(q.value)}"`);
      case "fileContainingExtension":
        return notFound(`extension ${q.value.extensionNumber} of "${clip(q.value.containingType)}"`);
      case "allExtensionNumbersOfType": {
        const m = this.messages.get(q.value.replace(/^\./, ""));
        if (!m) return notFound(`message "${clip(q.value)}"`);
        return { case: "allExtensionNumbersResponse", value: { baseTypeName: m.typeName, extensionNumber: [] } };
      }
      default:
        return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "the request asks nothing" } };
    }
  }

  /** The file first, then every file it imports, transitively (each once). */
  private filesAnswer(file: DescFile | undefined, what: string): Answer {
    if (!file) return notFound(what);
    const out: DescFile[] = [];
    const visit = (f: DescFile) => {
      if (out.includes(f)) return;
      out.push(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out.map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) } };
  }
}

function notFound(what: string): Answer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
}

function clip(s: string): string {
  return s.length > MAX_NAME_IN_ERROR ? `${s.slice(0, MAX_NAME_IN_ERROR)}…` : s;
}

/** Serves reflection v1 and v1alpha for `files` (and for itself) on the router. */
export function registerReflection(router: ConnectRouter, files: readonly DescFile[]): void {
  const index = new ReflectionIndex([...files, v1.file_grpc_reflection_v1_reflection, v1alpha.file_grpc_reflection_v1alpha_reflection]);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: index.answer(req.messageRequest) });
      }
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1alpha.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: index.answer(req.messageRequest) });
      }
    },
  });
}
