package dev.txfs.txn.proc;

/** A process with several threads for membership tests: prints "ready", then sleeps. */
public final class ThreadedSleeper {
    private ThreadedSleeper() {}

    public static void main(String[] args) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    // exit
                }
            });
            t.setDaemon(true);
            t.start();
        }
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(60_000);
    }
}
