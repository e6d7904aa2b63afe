/* The demo image's only program: reports what the container looks like from the inside. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

static void show_file(const char *label, const char *path) {
    char buf[128] = "";
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        printf("  %-22s %s\n", label, buf);
    }
    fclose(f);
}

static void show_status(const char *key) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':') {
            char *v = line + strlen(key) + 1;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            printf("  %-22s %s\n", key, v);
        }
    }
    fclose(f);
}

int main(void) {
    char host[256] = "";
    gethostname(host, sizeof host);
    printf("Hello from inside a box container!\n");
    printf("  %-22s %d\n", "my pid", (int)getpid());
    printf("  %-22s %s\n", "hostname", host);
    printf("  %-22s %d\n", "uid", (int)getuid());
    show_file("memory limit (v1)", "/sys/fs/cgroup/memory/memory.limit_in_bytes");
    show_file("memory limit (v2)", "/sys/fs/cgroup/memory.max");
    show_file("pids limit (v1)", "/sys/fs/cgroup/pids/pids.max");
    show_file("pids limit (v2)", "/sys/fs/cgroup/pids.max");
    show_status("CapEff");
    show_status("Seccomp");
    show_status("NoNewPrivs");
    DIR *d = opendir("/sys/class/net");
    if (d) {
        struct dirent *e;
        printf("  %-22s", "network interfaces");
        while ((e = readdir(d))) if (e->d_name[0] != '.') printf(" %s", e->d_name);
        printf("\n");
        closedir(d);
    }
    return 0;
}
