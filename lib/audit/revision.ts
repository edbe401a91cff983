/**
 * The condition of a write to an item of the auditor's own (its cursor, a licence's limiter bucket) that
 * carries a revision: create it only if absent (revision 0), else only if it is still at `expectedRev`.
 */
export function revisionCondition(expectedRev: number) {
  return expectedRev === 0
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: '#rev = :rev',
        ExpressionAttributeNames: { '#rev': 'rev' },
        ExpressionAttributeValues: { ':rev': { N: String(expectedRev) } },
      };
}
