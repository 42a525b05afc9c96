package dev.txfs.snapshot;

/** A written directory: its top tree node and the counts its parent's entry records. */
public record TreeRef(ObjectId id, long entries, long subdirs) {}
