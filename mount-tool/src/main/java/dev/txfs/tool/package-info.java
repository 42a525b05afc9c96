/**
 * The {@code txfs} command: one picocli class per verb ({@code InitCommand}, {@code
 * SnapshotCommand}, {@code CheckoutCommand}, {@code LogCommand}, {@code ShowCommand}, {@code
 * VerifyCommand}), the verb-sized workers they drive ({@code DirectoryImporter} records a host tree,
 * {@code Checkout} writes one out, {@code StatCache} remembers what a snapshot read) and the one
 * place that finds the store ({@code StoreLocator}).
 *
 * <p>Hot paths: {@code DirectoryImporter.walk} (one statx per name, one stat cache lookup per file)
 * and the workers' chunking; {@code Checkout}'s workers writing content.
 *
 * <p>Threads: a command runs on the main thread; {@code WorkerPool} threads each own an {@code
 * ObjectWriter} and only read or write files and objects handed to them; results come back through
 * futures, so the main thread sees them after {@code Future.get}.
 *
 * <p>Errors: commands throw; {@code Errors} turns any exception into one {@code txfs: } line on
 * stderr and an {@code ExitCode} (the table is in {@code ExitCode} and mount-tool/README-exit-codes.md).
 * Expected failures raised here are {@code ToolException}s carrying their exit code; store
 * failures are the snapshot module's {@code TxfsException}s; file failures are {@code IOException}s
 * (from {@code dev.txfs.fs.posix}).
 */
package dev.txfs.tool;
