package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.txfs.snapshot.Json;
import org.junit.jupiter.api.Test;

/** Issue 17: {@code txfs txn list} showed a run's root command as the whole JVM line of the txfs client. */
class TxnListTest {
    /** Above pid_max: no /proc entry, so the daemon's text is all there is. */
    static final long NO_PID = 1L << 40;

    static final String JAR_LINE = "/usr/lib/jvm/java-17/bin/java --add-opens java.base/java.nio=ALL-UNNAMED"
            + " --add-opens java.base/sun.nio.ch=ALL-UNNAMED -Djffi.boot.library.path=/tmp/n"
            + " -XX:SharedArchiveFile=/x/txfs.jsa -jar /opt/txfs/mount-tool/target/txfs.jar run -- make -j4";

    @Test
    void userCommand_whenTxfsClientViaJar_isTxfsAndTheArgumentsTyped() {
        assertEquals("txfs run -- make -j4", TxnCommands.TxnList.userCommand(JAR_LINE));
    }

    @Test
    void userCommand_whenTxfsClientViaMainClass_isTxfsAndTheArgumentsTyped() {
        assertEquals(
                "txfs --store /s run --commit -- ./test.sh",
                TxnCommands.TxnList.userCommand("java --add-opens java.base/java.nio=ALL-UNNAMED -cp /a.jar:/b.jar"
                        + " dev.txfs.tool.Main --store /s run --commit -- ./test.sh"));
    }

    @Test
    void userCommand_whenNotAJavaLauncher_isUnchanged() {
        assertEquals("-bash", TxnCommands.TxnList.userCommand("-bash"));
        assertEquals("bash -c java -jar x.jar", TxnCommands.TxnList.userCommand("bash -c java -jar x.jar"));
        assertEquals("", TxnCommands.TxnList.userCommand(""));
        assertEquals("java -jar app.jar serve", TxnCommands.TxnList.userCommand("java -jar app.jar serve"));
    }

    @Test
    void userCommand_whenTheDaemonCutTheLine_readsTheWholeLineOfTheProcess() throws Exception {
        long self = ProcessHandle.current().pid();
        String full = TxnCommands.TxnList.cmdline(self);
        String cut = full.substring(0, Math.min(full.length(), 40));
        assertEquals(TxnCommands.TxnList.userCommand(full), TxnCommands.TxnList.userCommand(cut, self));
        assertEquals("-bash", TxnCommands.TxnList.userCommand("-bash", self), "a pid now running something else");
    }

    @Test
    void userCommandsInText_rewritesOnlyTheCommandColumn() {
        String header = String.format(
                "%-12s %7s %-10s %8s %7s %10s  %s", "ID", "PID", "USER", "AGE", "CHANGES", "BYTES", "COMMAND");
        String reply = header + "\n"
                + String.format(
                        "%-12s %7d %-10s %8s %7d %10d  %s", "5d2e0c41a9f3", NO_PID, "uid 1000", "3s", 2, 10, JAR_LINE)
                + "\n"
                + String.format("%-12s %7d %-10s %8s %7d %10d  %s", "77aa0c41a9f3", NO_PID, "root", "2m", 0, 0, "-bash")
                + "\n";
        assertEquals(
                header + "\n"
                        + String.format(
                                "%-12s %7d %-10s %8s %7d %10d  %s",
                                "5d2e0c41a9f3", NO_PID, "uid 1000", "3s", 2, 10, "txfs run -- make -j4")
                        + "\n"
                        + String.format(
                                "%-12s %7d %-10s %8s %7d %10d  %s", "77aa0c41a9f3", NO_PID, "root", "2m", 0, 0, "-bash")
                        + "\n",
                TxnCommands.TxnList.userCommandsInText(reply));
    }

    @Test
    void userCommandsInJson_rewritesTheCommandField_andKeepsEscapes() {
        String reply = new Json()
                        .beginArray()
                        .beginObject()
                        .field("id", "5d2e0c41a9f3")
                        .field("root_pid", NO_PID)
                        .field("command", JAR_LINE + " \"quoted\\dir\"")
                        .endObject()
                        .beginObject()
                        .field("id", "77aa0c41a9f3")
                        .field("root_pid", NO_PID)
                        .field("command", "sh -c \"echo hi\"")
                        .endObject()
                        .endArray()
                + "\n";
        String expected = new Json()
                        .beginArray()
                        .beginObject()
                        .field("id", "5d2e0c41a9f3")
                        .field("root_pid", NO_PID)
                        .field("command", "txfs run -- make -j4 \"quoted\\dir\"")
                        .endObject()
                        .beginObject()
                        .field("id", "77aa0c41a9f3")
                        .field("root_pid", NO_PID)
                        .field("command", "sh -c \"echo hi\"")
                        .endObject()
                        .endArray()
                + "\n";
        assertEquals(expected, TxnCommands.TxnList.userCommandsInJson(reply));
    }
}
