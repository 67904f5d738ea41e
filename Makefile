# Build and install TaskHost: the CLI, libTaskHost.so with its C headers, the
# cluster library, the fork server and the shipped plugins.
#
#   make                                  # swift build -c release -Xcc -gdwarf-4
#   make MPI=1                            # the same with the package trait MPI (needs Open MPI)
#   sudo make install PREFIX=/usr/local   # installs what `make` built (never builds as root)
#   make uninstall PREFIX=/usr/local
#
# Installed layout:
#   PREFIX/bin/taskhost
#   PREFIX/lib/libTaskHost.so
#   PREFIX/lib/libTaskHostCluster.so      (th_cluster_pool_new; without MPI=1 it says how to get MPI)
#   PREFIX/lib/taskhost/taskhost-forkserver
#   PREFIX/lib/taskhost/plugins/lib{square,print,ipc,text,imagefilter}.so
#   PREFIX/include/taskhost/{plugin.h,shared.h,taskhost.h,cluster.h}
#   PREFIX/lib/pkgconfig/taskhost.pc, taskhost-cluster.pc
#
# The library and the CLI find the fork server and the plugins from where they
# are (see include/taskhost/taskhost.h, "WHERE THINGS ARE FOUND"). They need
# the Swift runtime libraries of the toolchain they were built with (their
# RUNPATH names its lib/swift/linux folder).

PREFIX ?= /usr/local
DESTDIR ?=
CONFIG ?= release
SCRATCH ?= .build
SWIFT ?= swift
# Where the built products are; `make install PRODUCTS=.build/debug` installs a debug build.
PRODUCTS ?= $(SCRATCH)/$(CONFIG)

PLUGINS := libsquare.so libprint.so libipc.so libtext.so libimagefilter.so
HEADERS := include/taskhost/plugin.h include/taskhost/shared.h include/taskhost/taskhost.h include/taskhost/cluster.h
# MPI=1: build the cluster library and `taskhost --mpi` with Open MPI (the package trait MPI).
MPI ?=
TRAITS := $(if $(MPI),--traits MPI)
VERSION := $(shell sed -n 's/^\#define TH_VERSION_STRING "\(.*\)"/\1/p' include/taskhost/taskhost.h)

BIN := $(DESTDIR)$(PREFIX)/bin
LIB := $(DESTDIR)$(PREFIX)/lib
INCLUDE := $(DESTDIR)$(PREFIX)/include/taskhost

.PHONY: all install uninstall

# $(call pkgconfig,NAME,DESCRIPTION,LIBRARY): writes PREFIX/lib/pkgconfig/NAME.pc linking libLIBRARY.so.
define pkgconfig
printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
    'Name: $(1)' 'Description: $(2)' 'Version: $(VERSION)' \
    'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -l$(3)' > $(LIB)/pkgconfig/$(1).pc
endef

# -gdwarf-4: the toolchain's clang writes DWARF 5 for the C parts by default,
# which valgrind 3.19 can't read ("unhandled dwarf2 abbrev form code 0x1b");
# the Swift parts are DWARF 4 already. A command-line flag, not one in
# Package.swift, where SwiftPM would refuse it for dependents.
all:
	$(SWIFT) build -c $(CONFIG) --scratch-path $(SCRATCH) $(TRAITS) -Xcc -gdwarf-4

$(PRODUCTS)/libTaskHost.so:
	@echo "nothing built in $(PRODUCTS): run 'make' first (or set PRODUCTS=)" >&2; exit 1

install: $(PRODUCTS)/libTaskHost.so
	install -d $(BIN) $(LIB)/taskhost/plugins $(LIB)/pkgconfig $(INCLUDE)
	install -m 755 $(PRODUCTS)/taskhost $(BIN)/taskhost
	install -m 755 $(PRODUCTS)/libTaskHost.so $(LIB)/libTaskHost.so
	install -m 755 $(PRODUCTS)/libTaskHostCluster.so $(LIB)/libTaskHostCluster.so
	install -m 755 $(PRODUCTS)/taskhost-forkserver $(LIB)/taskhost/taskhost-forkserver
	install -m 755 $(addprefix $(PRODUCTS)/,$(PLUGINS)) $(LIB)/taskhost/plugins/
	install -m 644 $(HEADERS) $(INCLUDE)/
	$(call pkgconfig,taskhost,Crash-safe parallel execution of task plugins,TaskHost)
	$(call pkgconfig,taskhost-cluster,TaskHost with pools across the ranks of an MPI job,TaskHostCluster)

uninstall:
	rm -f $(BIN)/taskhost $(LIB)/libTaskHost.so $(LIB)/libTaskHostCluster.so
	rm -f $(LIB)/pkgconfig/taskhost.pc $(LIB)/pkgconfig/taskhost-cluster.pc
	rm -f $(addprefix $(INCLUDE)/,$(notdir $(HEADERS))) $(addprefix $(LIB)/taskhost/plugins/,$(PLUGINS))
	rm -f $(LIB)/taskhost/taskhost-forkserver
	-rmdir $(INCLUDE) $(LIB)/taskhost/plugins $(LIB)/taskhost 2>/dev/null
