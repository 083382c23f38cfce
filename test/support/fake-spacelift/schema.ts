/**
 * The subset of Spacelift's public GraphQL schema our Lambdas use, written from the public API
 * (docs, spacectl, the Go autoscaler's and lifecycle manager's operations). Every request to the
 * fake is validated against it, so a typo in a query fails the same way it would in production.
 */
import { buildSchema, type GraphQLSchema } from 'graphql';

function sdl(withAvailableAt: boolean): string {
  return /* GraphQL */ `
    type Query {
      workerPool(id: ID!): WorkerPool
      workerPools: [WorkerPool!]!
    }

    type Mutation {
      apiKeyUser(id: ID!, secret: String!): User
      workerDrainSet(workerPool: ID!, id: ID!, drain: Boolean!): Worker!
      "Arguments as terraform-provider-spacelift's spacelift_worker_pool sends them; the CSR is base64 of its PEM."
      workerPoolCreate(name: String!, certificateSigningRequest: String!, description: String, labels: [String!], space: ID): WorkerPool!
      workerPoolUpdate(id: ID!, name: String!, description: String, labels: [String!], space: ID): WorkerPool!
      "Issues a new config for a new CSR; the old config stops working."
      workerPoolReset(id: ID!, certificateSigningRequest: String!): WorkerPool!
      workerPoolDelete(id: ID!): WorkerPool
    }

    type User {
      id: ID!
      jwt: String!
      "Unix seconds."
      validUntil: Int!
    }

    type WorkerPool {
      id: ID!
      name: String!
      description: String
      labels: [String!]!
      "Space id (slug)."
      space: ID!
      "The pool's token (base64): broker endpoint and the certificate Spacelift issued for the CSR."
      config: String!
      pendingRuns: Int!
      schedulableRunsCount: Int!
      busyWorkers: Int!
      workers: [Worker!]!
    }

    type Worker {
      id: ID!
      busy: Boolean!
      "Unix seconds."
      createdAt: Int!
      ${withAvailableAt ? '"Unix seconds the worker last became idle."\n      availableAt: Int' : ''}
      drained: Boolean!
      "JSON object the launcher registered with, e.g. asg_id and instance_id."
      metadata: String!
    }
  `;
}

/** Current SaaS schema. */
export const currentSchema: GraphQLSchema = buildSchema(sdl(true));

/** Older self-hosted releases: no `Worker.availableAt` (ec2-workerpool-autoscaler #65, #74). */
export const legacySchema: GraphQLSchema = buildSchema(sdl(false));
