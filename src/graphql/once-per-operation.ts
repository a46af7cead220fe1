import { GraphQLError, Kind, type ASTVisitor, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';
import { ONCE_PER_OPERATION } from './limits';

/**
 * A validation rule refusing an operation that selects a root field marked `ONCE_PER_OPERATION`
 * more than once, however it is spelled: aliases, inline fragments and fragment spreads all count.
 * Refused before execution, so none of the copies runs.
 */
export function oncePerOperationRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.getDocument().definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return {
    OperationDefinition(operation) {
      const rootType = context.getSchema().getRootType(operation.operation);
      if (!rootType) return false;
      const fields = rootType.getFields();
      // Selections under one response key are merged and resolved once, so distinct keys are what count.
      const keys = new Map<string, Set<string>>();
      const visiting = new Set<string>();
      const count = (selectionSet: SelectionSetNode): void => {
        for (const selection of selectionSet.selections) {
          if (selection.kind === Kind.FIELD) {
            const name = selection.name.value;
            if (fields[name]?.extensions?.[ONCE_PER_OPERATION] !== true) continue;
            const named = keys.get(name) ?? new Set<string>();
            named.add(selection.alias?.value ?? name);
            keys.set(name, named);
          } else if (selection.kind === Kind.INLINE_FRAGMENT) {
            count(selection.selectionSet);
          } else {
            const fragment = fragments.get(selection.name.value);
            // Unknown and cyclic spreads are reported by graphql-js's own rules.
            if (!fragment || visiting.has(fragment.name.value)) continue;
            visiting.add(fragment.name.value);
            count(fragment.selectionSet);
            visiting.delete(fragment.name.value);
          }
        }
      };
      count(operation.selectionSet);
      for (const [name, responseKeys] of keys) {
        const times = responseKeys.size;
        if (times <= 1) continue;
        context.reportError(
          new GraphQLError(`The operation selects ${name} ${times} times; at most once per operation is allowed`, {
            nodes: [operation],
            extensions: { code: 'BAD_USER_INPUT' },
          }),
        );
      }
      return false;
    },
  };
}
