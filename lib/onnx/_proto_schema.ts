// SPDX-License-Identifier: MIT
/**
 * Private: the ONNX protobuf schema (onnx/onnx `onnx.proto`, IR version 10, proto2 syntax) as a
 * `protobufjs` reflection definition. Every message a model file can contain is declared
 * (functions and training info included), so decoding then re-encoding a model keeps all of it.
 * Repeated numeric fields are declared packed (what onnx's C++ writes); the decoder accepts both
 * encodings. The TypeScript views of the decoded messages are in proto.ts.
 *
 * @module
 */
import protobuf from "protobufjs";

const s = (id: number) => ({ type: "string", id });
const i64 = (id: number) => ({ type: "int64", id });
const i32 = (id: number) => ({ type: "int32", id });
const msg = (type: string, id: number) => ({ type, id });
const rep = (type: string, id: number, packed = false) =>
  packed ? { rule: "repeated", type, id, options: { packed: true } } : { rule: "repeated", type, id };
const props = (id: number) => rep("StringStringEntryProto", id);

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: s(1),
            refAttrName: s(21),
            docString: s(13),
            type: { type: "AttributeType", id: 20 },
            f: { type: "float", id: 2 },
            i: i64(3),
            s: { type: "bytes", id: 4 },
            t: msg("TensorProto", 5),
            g: msg("GraphProto", 6),
            sparseTensor: msg("SparseTensorProto", 22),
            tp: msg("TypeProto", 14),
            floats: rep("float", 7, true),
            ints: rep("int64", 8, true),
            strings: rep("bytes", 9),
            tensors: rep("TensorProto", 10),
            graphs: rep("GraphProto", 11),
            sparseTensors: rep("SparseTensorProto", 23),
            typeProtos: rep("TypeProto", 15),
          },
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0,
                FLOAT: 1,
                INT: 2,
                STRING: 3,
                TENSOR: 4,
                GRAPH: 5,
                SPARSE_TENSOR: 11,
                TYPE_PROTO: 13,
                FLOATS: 6,
                INTS: 7,
                STRINGS: 8,
                TENSORS: 9,
                GRAPHS: 10,
                SPARSE_TENSORS: 12,
                TYPE_PROTOS: 14,
              },
            },
          },
        },
        ValueInfoProto: {
          fields: { name: s(1), type: msg("TypeProto", 2), docString: s(3), metadataProps: props(4) },
        },
        NodeProto: {
          fields: {
            input: rep("string", 1),
            output: rep("string", 2),
            name: s(3),
            opType: s(4),
            domain: s(7),
            overload: s(8),
            attribute: rep("AttributeProto", 5),
            docString: s(6),
            metadataProps: props(9),
          },
        },
        TrainingInfoProto: {
          fields: {
            initialization: msg("GraphProto", 1),
            algorithm: msg("GraphProto", 2),
            initializationBinding: props(3),
            updateBinding: props(4),
          },
        },
        ModelProto: {
          fields: {
            irVersion: i64(1),
            opsetImport: rep("OperatorSetIdProto", 8),
            producerName: s(2),
            producerVersion: s(3),
            domain: s(4),
            modelVersion: i64(5),
            docString: s(6),
            graph: msg("GraphProto", 7),
            metadataProps: props(14),
            trainingInfo: rep("TrainingInfoProto", 20),
            functions: rep("FunctionProto", 25),
          },
        },
        StringStringEntryProto: { fields: { key: s(1), value: s(2) } },
        TensorAnnotation: { fields: { tensorName: s(1), quantParameterTensorNames: props(2) } },
        GraphProto: {
          fields: {
            node: rep("NodeProto", 1),
            name: s(2),
            initializer: rep("TensorProto", 5),
            sparseInitializer: rep("SparseTensorProto", 15),
            docString: s(10),
            input: rep("ValueInfoProto", 11),
            output: rep("ValueInfoProto", 12),
            valueInfo: rep("ValueInfoProto", 13),
            quantizationAnnotation: rep("TensorAnnotation", 14),
            metadataProps: props(16),
          },
        },
        TensorProto: {
          fields: {
            dims: rep("int64", 1, true),
            dataType: i32(2),
            segment: msg("Segment", 3),
            floatData: rep("float", 4, true),
            int32Data: rep("int32", 5, true),
            stringData: rep("bytes", 6),
            int64Data: rep("int64", 7, true),
            name: s(8),
            docString: s(12),
            rawData: { type: "bytes", id: 9 },
            externalData: props(13),
            dataLocation: { type: "DataLocation", id: 14 },
            doubleData: rep("double", 10, true),
            uint64Data: rep("uint64", 11, true),
            metadataProps: props(16),
          },
          nested: {
            Segment: { fields: { begin: i64(1), end: i64(2) } },
            DataLocation: { values: { DEFAULT: 0, EXTERNAL: 1 } },
          },
        },
        SparseTensorProto: {
          fields: { values: msg("TensorProto", 1), indices: msg("TensorProto", 2), dims: rep("int64", 3, true) },
        },
        TensorShapeProto: {
          fields: { dim: rep("Dimension", 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dimValue", "dimParam"] } },
              fields: { dimValue: i64(1), dimParam: s(2), denotation: s(3) },
            },
          },
        },
        TypeProto: {
          oneofs: {
            value: { oneof: ["tensorType", "sequenceType", "mapType", "optionalType", "sparseTensorType"] },
          },
          fields: {
            tensorType: msg("Tensor", 1),
            sequenceType: msg("Sequence", 4),
            mapType: msg("Map", 5),
            optionalType: msg("Optional", 9),
            sparseTensorType: msg("SparseTensor", 8),
            denotation: s(6),
          },
          nested: {
            Tensor: { fields: { elemType: i32(1), shape: msg("TensorShapeProto", 2) } },
            Sequence: { fields: { elemType: msg("TypeProto", 1) } },
            Map: { fields: { keyType: i32(1), valueType: msg("TypeProto", 2) } },
            Optional: { fields: { elemType: msg("TypeProto", 1) } },
            SparseTensor: { fields: { elemType: i32(1), shape: msg("TensorShapeProto", 2) } },
          },
        },
        OperatorSetIdProto: { fields: { domain: s(1), version: i64(2) } },
        FunctionProto: {
          fields: {
            name: s(1),
            input: rep("string", 4),
            output: rep("string", 5),
            attribute: rep("string", 6),
            attributeProto: rep("AttributeProto", 11),
            node: rep("NodeProto", 7),
            docString: s(8),
            opsetImport: rep("OperatorSetIdProto", 9),
            domain: s(10),
            overload: s(13),
            valueInfo: rep("ValueInfoProto", 12),
            metadataProps: props(14),
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA);

/** The protobufjs type of `onnx.ModelProto` (decode/encode/create). */
export const ModelProtoType: protobuf.Type = root.lookupType("onnx.ModelProto");
