package dev.pacer.spark;

import scala.Option;

/** Reads Scala values with calls that compile against both Scala 2.12 and 2.13. */
final class ScalaValues {
    private ScalaValues() {
    }

    /** A Seq[Int] (a collection.Seq in 2.12, an immutable.Seq in 2.13) as an int array. */
    static int[] ints(scala.collection.Iterable<Object> values) {
        int[] out = new int[values.size()];
        scala.collection.Iterator<Object> it = values.iterator();
        for (int i = 0; i < out.length && it.hasNext(); i++) {
            out[i] = ((Number) it.next()).intValue();
        }
        return out;
    }

    static long longOr(Option<Object> value, long fallback) {
        return value.isDefined() ? ((Number) value.get()).longValue() : fallback;
    }

    static String stringOrNull(Option<String> value) {
        return value.isDefined() ? value.get() : null;
    }

    /** The value under {@code key} of a Scala map (immutable.Map in both versions), or null. */
    static String valueOrNull(scala.collection.Map<String, String> map, String key) {
        return map == null ? null : stringOrNull(map.get(key));
    }
}
