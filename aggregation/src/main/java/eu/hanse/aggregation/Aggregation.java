package eu.hanse.aggregation;

/**
 * What an aggregator made of a round's updates.
 *
 * @param delta the aggregate update, flat, one value per model element
 * @param detail one line for the round's log: what was chosen, dropped or scaled
 */
public record Aggregation(float[] delta, String detail) {}
