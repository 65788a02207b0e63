# packaging/: what `make install` adds for a system install besides the
# programs and man pages: the systemd unit, sysusers.d and tmpfiles.d
# entries (user/group portcullis, the state directory), the default
# configuration and the example with every key at its default. Everything
# honours DESTDIR and needs no root (make distcheck); the packages'
# maintainer scripts create the account and set owners.

# Distributions differ (Debian 12: /lib/systemd/system); packagers pass
# `make install systemdsystemunitdir=...`.
systemdsystemunitdir = $(prefix)/lib/systemd/system
sysusersdir = $(prefix)/lib/sysusers.d
tmpfilesdir = $(prefix)/lib/tmpfiles.d
pkgsysconfdir = $(sysconfdir)/portcullis
pkgstatedir = $(localstatedir)/lib/portcullis
pkgrundir = $(runstatedir)/portcullis
pkgexamplesdir = $(docdir)/examples

# portcullis-sipcheck (common/sipcheck.c) has no other manual page.
dist_man_MANS += packaging/portcullis-sipcheck.1

# Listed one by one: a directory in EXTRA_DIST would also carry what a
# build made under packaging/ into the tarball.
EXTRA_DIST += packaging/portcullis.json packaging/rpm/portcullis.spec \
	packaging/systemd/portcullis.service.in \
	packaging/systemd/portcullis.sysusers packaging/systemd/portcullis.tmpfiles \
	packaging/debian/changelog packaging/debian/control \
	packaging/debian/copyright packaging/debian/rules \
	packaging/debian/source/format packaging/debian/portcullis.install \
	packaging/debian/portcullis.postinst packaging/debian/portcullis.postrm \
	packaging/README.md

# @''name''@ keeps configure from substituting the pattern itself.
PC_PKG_SUBST = sed -e 's|@''sbindir''@|$(sbindir)|g' \
	-e 's|@''bindir''@|$(bindir)|g' \
	-e 's|@''pkgsysconfdir''@|$(pkgsysconfdir)|g' \
	-e 's|@''pkgstatedir''@|$(pkgstatedir)|g' \
	-e 's|@''pkgrundir''@|$(pkgrundir)|g'

# Generated under packaging/gen/ because _DATA files install under their
# own name and both sysusers.d and tmpfiles.d want portcullis.conf.
systemdsystemunit_DATA = packaging/gen/portcullis.service
sysusers_DATA = packaging/gen/sysusers.d/portcullis.conf
tmpfiles_DATA = packaging/gen/tmpfiles.d/portcullis.conf
CLEANFILES += $(systemdsystemunit_DATA) $(sysusers_DATA) $(tmpfiles_DATA) \
	packaging/gen/portcullis-defaults.json

packaging/gen/portcullis.service: $(srcdir)/packaging/systemd/portcullis.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(PC_PKG_SUBST) \
		$(srcdir)/packaging/systemd/portcullis.service.in >$@.tmp && mv $@.tmp $@
packaging/gen/sysusers.d/portcullis.conf: $(srcdir)/packaging/systemd/portcullis.sysusers Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(PC_PKG_SUBST) \
		$(srcdir)/packaging/systemd/portcullis.sysusers >$@.tmp && mv $@.tmp $@
packaging/gen/tmpfiles.d/portcullis.conf: $(srcdir)/packaging/systemd/portcullis.tmpfiles Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(PC_PKG_SUBST) \
		$(srcdir)/packaging/systemd/portcullis.tmpfiles >$@.tmp && mv $@.tmp $@

# Every key with its default, as JSON (valid, so no comments: the meaning of
# each key is in portcullis.json(5)). Made by a small program that loads `{}`
# through the real field tables, so it cannot drift from the code. Built
# only when installing (EXTRA_PROGRAMS) so that `make all` does not depend
# on it.
EXTRA_PROGRAMS += packaging/pc-conf-defaults
packaging_pc_conf_defaults_SOURCES = packaging/pc-conf-defaults.c
packaging_pc_conf_defaults_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
packaging_pc_conf_defaults_LDADD = $(PC_COMMON_LIBS)
CLEANFILES += packaging/pc-conf-defaults$(EXEEXT)

packaging/gen/portcullis-defaults.json: packaging/pc-conf-defaults$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) $(@D) && packaging/pc-conf-defaults$(EXEEXT) >$@.tmp && mv $@.tmp $@

# The shipped configuration is never overwritten by `make install`: an
# operator's edited file survives a reinstall (packages handle conffiles
# themselves).
install-data-local: install-pc-packaging
install-pc-packaging: packaging/gen/portcullis-defaults.json
	$(MKDIR_P) $(DESTDIR)$(pkgsysconfdir) $(DESTDIR)$(pkgstatedir) \
		$(DESTDIR)$(pkgexamplesdir)
	if test ! -f $(DESTDIR)$(pkgsysconfdir)/portcullis.json; then \
		$(INSTALL) -m 0640 $(srcdir)/packaging/portcullis.json \
			$(DESTDIR)$(pkgsysconfdir)/portcullis.json; fi
	$(INSTALL_DATA) packaging/gen/portcullis-defaults.json \
		$(DESTDIR)$(pkgexamplesdir)/portcullis.json

# Removes the configuration only while it is the shipped one.
uninstall-local: uninstall-pc-packaging
uninstall-pc-packaging:
	rm -f $(DESTDIR)$(pkgexamplesdir)/portcullis.json
	if cmp -s $(srcdir)/packaging/portcullis.json \
		$(DESTDIR)$(pkgsysconfdir)/portcullis.json; then \
		rm -f $(DESTDIR)$(pkgsysconfdir)/portcullis.json; fi

.PHONY: install-pc-packaging uninstall-pc-packaging
